// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {CustosFixture} from "./utils/CustosFixture.sol";
import {CustosNotices, ICustosNoticeAdapter} from "../src/lending/CustosNotices.sol";
import {Attestation} from "../src/CustosTypes.sol";

/// The collateral notices on-chain: a custodian's notice about the current lender is
/// emitted once per sequence; the agent's, another feed's custodian's, an unknown key's,
/// a notice about another lender or after a release, a used sequence, and malformed
/// notices revert. The digest is ethers' (a known-answer vector), as libcustos's is (test_notice).
contract CustosNoticesTest is CustosFixture {
    CustosNotices internal notices;

    event CollateralNotice(bytes32 indexed account, address indexed lender, CustosNotices.Notice notice, address signer);

    function setUp() public override {
        super.setUp();
        notices = new CustosNotices(ICustosNoticeAdapter(address(adapter)));
        _submit(_valuation(1, 100_000e18));
    }

    function _call(uint64 sequence) internal view returns (CustosNotices.Notice memory n) {
        n = CustosNotices.Notice({
            account: ACCOUNT_1,
            lender: MARKET_A,
            state: 2,
            ltvBps: 8000,
            exposure: 80_000e18,
            collateralValue: 100_000e18,
            deadline: uint64(block.timestamp + 1 days),
            sequence: sequence
        });
    }

    function _signed(CustosNotices.Notice memory n, uint256 pk) internal view returns (bytes memory) {
        return _sig(pk, notices.digest(n));
    }

    function test_CustodianNoticeEmitted() public {
        CustosNotices.Notice memory n = _call(1);
        vm.expectEmit(true, true, false, true, address(notices));
        emit CollateralNotice(ACCOUNT_1, MARKET_A, n, vm.addr(PK_CUSTODIAN));
        vm.prank(OUTSIDER_RELAYER);
        notices.publish(n, _signed(n, PK_CUSTODIAN));
        assertEq(notices.lastSequence(ACCOUNT_1, MARKET_A), 1, "sequence kept");
        // A second custodian key of the feed may sign the next one.
        CustosNotices.Notice memory healthy = _call(2);
        healthy.state = 0;
        healthy.deadline = 0;
        notices.publish(healthy, _signed(healthy, PK_CUSTODIAN_2));
        assertEq(notices.lastSequence(ACCOUNT_1, MARKET_A), 2, "next sequence");
    }

    address internal constant OUTSIDER_RELAYER = address(0xBEEF);

    function test_OnlyTheFeedsCustodian() public {
        CustosNotices.Notice memory n = _call(1);
        bytes memory sig = _signed(n, PK_AGENT);
        vm.expectRevert(abi.encodeWithSelector(CustosNotices.NotCustodian.selector, vm.addr(PK_AGENT)));
        notices.publish(n, sig);
        sig = _signed(n, PK_BANK_B);
        vm.expectRevert(abi.encodeWithSelector(CustosNotices.NotCustodian.selector, vm.addr(PK_BANK_B)));
        notices.publish(n, sig);
        sig = _signed(n, PK_OUTSIDER);
        vm.expectRevert(abi.encodeWithSelector(CustosNotices.NotCustodian.selector, vm.addr(PK_OUTSIDER)));
        notices.publish(n, sig);
        // A revoked custodian key no longer speaks for the feed.
        vm.prank(OWNER);
        adapter.revokeSigner(FEED_A, vm.addr(PK_CUSTODIAN_2));
        sig = _signed(n, PK_CUSTODIAN_2);
        vm.expectRevert(abi.encodeWithSelector(CustosNotices.NotCustodian.selector, vm.addr(PK_CUSTODIAN_2)));
        notices.publish(n, sig);
    }

    function test_OnlyAboutTheCurrentPledge() public {
        CustosNotices.Notice memory n = _call(1);
        n.lender = MARKET_B;
        bytes memory sig = _signed(n, PK_CUSTODIAN);
        vm.expectRevert(abi.encodeWithSelector(CustosNotices.NotPledged.selector, ACCOUNT_1, MARKET_B));
        notices.publish(n, sig);
        // After a release the account is pledged to nobody.
        Attestation memory rel = _ofKind(_valuation(2, 0), 1);
        rel.grossValue = 0;
        rel.positionsRoot = bytes32(0);
        _submit(rel);
        n = _call(1);
        sig = _signed(n, PK_CUSTODIAN);
        vm.expectRevert(abi.encodeWithSelector(CustosNotices.NotPledged.selector, ACCOUNT_1, MARKET_A));
        notices.publish(n, sig);
    }

    function test_SequenceIncreases() public {
        CustosNotices.Notice memory n = _call(5);
        bytes memory first = _signed(n, PK_CUSTODIAN);
        notices.publish(n, first);
        vm.expectRevert(abi.encodeWithSelector(CustosNotices.StaleSequence.selector, 5, 5));
        notices.publish(n, first);
        n = _call(4);
        bytes memory sig = _signed(n, PK_CUSTODIAN);
        vm.expectRevert(abi.encodeWithSelector(CustosNotices.StaleSequence.selector, 5, 4));
        notices.publish(n, sig);
    }

    function test_MalformedRefused() public {
        CustosNotices.Notice memory n = _call(1);
        n.deadline = 0;
        bytes memory sig = _signed(n, PK_CUSTODIAN);
        vm.expectRevert(abi.encodeWithSelector(CustosNotices.MalformedNotice.selector, "deadline"));
        notices.publish(n, sig);
        n = _call(1);
        n.state = 4;
        sig = _signed(n, PK_CUSTODIAN);
        vm.expectRevert(abi.encodeWithSelector(CustosNotices.MalformedNotice.selector, "state"));
        notices.publish(n, sig);
        n = _call(1);
        sig = _signed(n, PK_CUSTODIAN);
        // The same signature over another notice recovers someone else.
        CustosNotices.Notice memory other = _call(1);
        other.ltvBps = 7000;
        vm.expectRevert();
        notices.publish(other, sig);
        // High s is refused (EIP-2).
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(PK_CUSTODIAN, notices.digest(n));
        uint256 order = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
        bytes memory high = abi.encodePacked(r, bytes32(order - uint256(s)), v == 27 ? uint8(28) : uint8(27));
        vm.expectRevert(abi.encodeWithSelector(CustosNotices.NonCanonicalSignature.selector));
        notices.publish(n, high);
    }

    /// The digest of docs/attestation.md §17 on this adapter's domain equals the one ethers'
    /// TypedDataEncoder computes for the same notice, domain (chain 31337, this test's
    /// adapter address) and values: a known-answer vector made with ethers v6.
    function test_DigestMatchesEthers() public view {
        CustosNotices.Notice memory n = _call(1);
        assertEq(address(adapter), 0x5615dEB798BB3E4dFa0139dFa1b3D433Cc23b72f, "the vector's adapter");
        assertEq(block.chainid, 31337, "the vector's chain");
        assertEq(uint256(n.deadline), 1_767_456_000, "the vector's deadline");
        assertEq(notices.digest(n), 0x559cf502b41b7eda406637dbaea5b6cece46699e9a2441ca513f439a61dc3528, "digest");
    }
}
