// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {LendingFixture, LoanToken} from "./utils/LendingFixture.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {CustosAdapter} from "../src/CustosAdapter.sol";
import {CustosPledges, ICustosAdapterView} from "../src/lending/CustosPledges.sol";
import {CustosReceipt} from "../src/lending/CustosReceipt.sol";

/// Making pledges, installing the registry, consent and the release rule where no Morpho
/// exposure can be read.
contract CustosPledgesTest is LendingFixture {
    uint8 internal constant RELEASE = 1;
    uint8 internal constant FREEZE = 2;

    /// A pledge to MARKET_A without a Morpho market: its exposure cannot be read.
    function _plainTerms(bytes32 account) internal view returns (CustosPledges.Terms memory t) {
        t = _terms(account, address(0));
        t.beneficiary = MARKET_A;
        t.irm = address(0);
        t.lltv = 0;
        t.createMarket = false;
    }

    function _create(CustosPledges.Terms memory t) internal returns (address receipt) {
        vm.prank(OWNER);
        (receipt,,) = pledges.createPledge(t);
    }

    function _createReverts(CustosPledges.Terms memory t, bytes memory err) internal {
        vm.prank(OWNER);
        vm.expectRevert(err);
        pledges.createPledge(t);
    }

    // ------------------------------------------------------------------ installing

    function test_InstallOnceByTheOwner() public {
        CustosAdapter fresh = new CustosAdapter(OWNER);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, OUTSIDER));
        vm.prank(OUTSIDER);
        fresh.installPledges(address(pledges));
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.InvalidPledges.selector, OUTSIDER));
        vm.prank(OWNER);
        fresh.installPledges(OUTSIDER);
        vm.prank(OWNER);
        fresh.installPledges(address(pledges));
        assertEq(fresh.pledges(), address(pledges), "installed");
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.PledgesAlreadyInstalled.selector, address(pledges)));
        vm.prank(OWNER);
        fresh.installPledges(address(factory));
    }

    /// No pledge exists that its adapter would not guard.
    function test_NoPledgeBeforeInstalled() public {
        CustosAdapter fresh = new CustosAdapter(OWNER);
        CustosPledges p = new CustosPledges(ICustosAdapterView(address(fresh)), factory);
        vm.prank(OWNER);
        vm.expectRevert(abi.encodeWithSelector(CustosPledges.NotInstalled.selector, address(0)));
        p.createPledge(_plainTerms(ACCOUNT_1));
    }

    // ------------------------------------------------------------------ creating

    function test_OnlyTheAdapterOwnerCreates() public {
        CustosPledges.Terms memory t = _plainTerms(ACCOUNT_1);
        vm.prank(BORROWER);
        vm.expectRevert(abi.encodeWithSelector(CustosPledges.NotAdapterOwner.selector, BORROWER));
        pledges.createPledge(t);
    }

    function test_CreationChecksTheTerms() public {
        CustosPledges.Terms memory t = _plainTerms(keccak256("never registered"));
        _createReverts(t, abi.encodeWithSelector(CustosPledges.UnknownAccount.selector, t.account));

        string[9] memory role =
            ["beneficiary", "borrower", "borrower", "lender", "agent", "agent", "agent", "beneficiary", "lender"];
        for (uint256 i; i < role.length; i++) {
            t = _plainTerms(ACCOUNT_1);
            if (i == 0) t.beneficiary = address(0);
            if (i == 1) t.borrower = address(0);
            if (i == 2) t.borrower = t.beneficiary;
            if (i == 3) t.lender = address(0);
            if (i == 4) t.agent = address(0);
            if (i == 5) t.agent = t.borrower;
            if (i == 6) t.agent = t.beneficiary;
            if (i == 7) t.loanToken = address(new LoanToken(6)); // a Morpho market needs code there
            if (i == 8) t.lender = t.borrower;
            _createReverts(t, abi.encodeWithSelector(CustosPledges.InvalidParty.selector, role[i]));
        }
        t = _plainTerms(ACCOUNT_1);
        t.lltv = LLTV;
        _createReverts(t, abi.encodeWithSelector(CustosPledges.InvalidMarketTerms.selector));
        t = _plainTerms(ACCOUNT_1);
        t.createMarket = true;
        _createReverts(t, abi.encodeWithSelector(CustosPledges.InvalidMarketTerms.selector));
    }

    /// Morpho's own refusals reach the owner (here: an LLTV Morpho has not enabled).
    function test_MarketCreationRefusedByMorpho() public {
        CustosPledges.Terms memory t = _terms(ACCOUNT_1, address(new LoanToken(6)));
        t.lltv = 0.5e18;
        _createReverts(t, _morphoError("LLTV not enabled"));
    }

    function test_OneLivePledgePerAccountAndMarket() public {
        address receipt = _create(_plainTerms(ACCOUNT_1));
        _createReverts(
            _plainTerms(ACCOUNT_1),
            abi.encodeWithSelector(CustosPledges.PledgeExists.selector, ACCOUNT_1, MARKET_A, receipt)
        );
        // Another market is another pledge.
        CustosPledges.Terms memory t = _plainTerms(ACCOUNT_1);
        t.beneficiary = MARKET_B;
        assertTrue(_create(t) != receipt, "second market, second receipt");
    }

    function test_PledgeView() public {
        vm.expectRevert(abi.encodeWithSelector(CustosPledges.NoPledge.selector, ACCOUNT_1, MARKET_A));
        pledges.pledge(ACCOUNT_1, MARKET_A);
        CustosPledges.Terms memory t = _terms(ACCOUNT_1, address(new LoanToken(6)));
        vm.prank(OWNER);
        (address receipt, address oracle, bytes32 marketId) = pledges.createPledge(t);
        CustosPledges.PledgeView memory v = pledges.pledge(ACCOUNT_1, address(morpho));
        assertEq(v.receipt, receipt, "receipt");
        assertEq(v.oracle, oracle, "oracle");
        assertEq(v.feed, address(0), "no feed yet");
        assertEq(v.marketId, marketId, "market id");
        assertEq(v.borrower, BORROWER, "borrower");
        assertEq(v.lender, lender, "lender");
        assertEq(v.agent, AGENT, "agent");
        assertTrue(!v.ended, "live");
        address feed = pledges.createReceiptFeed(ACCOUNT_1, address(morpho));
        assertEq(pledges.pledge(ACCOUNT_1, address(morpho)).feed, feed, "feed");
        vm.expectRevert(abi.encodeWithSelector(CustosPledges.FeedExists.selector, feed));
        pledges.createReceiptFeed(ACCOUNT_1, address(morpho));
        vm.expectRevert(abi.encodeWithSelector(CustosPledges.NoPledge.selector, ACCOUNT_1, MARKET_B));
        pledges.createReceiptFeed(ACCOUNT_1, MARKET_B);
    }

    // ------------------------------------------------------------------ release without a market

    /// Without a Morpho market the exposure cannot be read: every release needs consent.
    function test_ReleaseWithUnknownExposureNeedsConsent() public {
        _create(_plainTerms(ACCOUNT_1));
        _attest(ACCOUNT_1, MARKET_A, 0, 1, 1_000_000e18);
        _attest(ACCOUNT_1, MARKET_A, FREEZE, 2, 0); // a freeze does not end the pledge
        assertTrue(!pledges.pledge(ACCOUNT_1, MARKET_A).ended, "live after freeze");
        (bool blocked,,, bool readable) = pledges.releaseBlocked(ACCOUNT_1, MARKET_A, 3);
        assertTrue(blocked && !readable, "blocked, unreadable");
        _attestReverts(
            ACCOUNT_1, MARKET_A, RELEASE, 3, abi.encodeWithSelector(CustosPledges.ExposureUnknown.selector, ACCOUNT_1, MARKET_A)
        );
        vm.prank(lender);
        pledges.consentRelease(ACCOUNT_1, MARKET_A, 3);
        (blocked,,,) = pledges.releaseBlocked(ACCOUNT_1, MARKET_A, 3);
        assertTrue(!blocked, "consented");
        _attest(ACCOUNT_1, MARKET_A, RELEASE, 3, 0);
        assertTrue(pledges.pledge(ACCOUNT_1, MARKET_A).ended, "ended");
        // Ended: a new pledge to the same market may be made.
        _create(_plainTerms(ACCOUNT_1));
    }

    /// A "market" that is no Morpho: reading its exposure reverts, which counts as exposure.
    function test_UnreadableMorphoExposureFailsClosed() public {
        LoanToken usdc = new LoanToken(6);
        CustosPledges.Terms memory t = _terms(ACCOUNT_1, address(usdc));
        t.beneficiary = address(usdc);
        t.createMarket = false;
        _create(t);
        _attest(ACCOUNT_1, address(usdc), 0, 1, 1);
        _attestReverts(
            ACCOUNT_1,
            address(usdc),
            RELEASE,
            2,
            abi.encodeWithSelector(CustosPledges.ExposureUnknown.selector, ACCOUNT_1, address(usdc))
        );
    }

    /// A release from a market the account has no pledge with is the adapter's business alone.
    function test_ReleaseWithoutPledgeUnaffected() public {
        _attest(ACCOUNT_1, MARKET_B, 0, 1, 1);
        _attest(ACCOUNT_1, MARKET_B, RELEASE, 2, 0);
    }

    function test_OnlyTheAdapterReportsReleases() public {
        vm.expectRevert(abi.encodeWithSelector(CustosPledges.NotAdapter.selector, address(this)));
        pledges.onRelease(ACCOUNT_1, MARKET_A, 1);
    }

    // ------------------------------------------------------------------ consent

    function test_ConsentChecks() public {
        vm.expectRevert(abi.encodeWithSelector(CustosPledges.NoPledge.selector, ACCOUNT_1, MARKET_A));
        vm.prank(lender);
        pledges.consentRelease(ACCOUNT_1, MARKET_A, 1);
        address receipt = _create(_plainTerms(ACCOUNT_1));
        vm.expectRevert(abi.encodeWithSelector(CustosPledges.NotLender.selector, BORROWER, lender));
        vm.prank(BORROWER);
        pledges.consentRelease(ACCOUNT_1, MARKET_A, 1);
        vm.expectRevert(abi.encodeWithSelector(CustosPledges.InvalidSequence.selector));
        vm.prank(lender);
        pledges.consentRelease(ACCOUNT_1, MARKET_A, 0);

        uint64 deadline = uint64(block.timestamp);
        bytes memory sig = _sig(PK_LENDER, pledges.consentDigest(ACCOUNT_1, MARKET_A, receipt, 1, deadline));
        vm.warp(block.timestamp + 1);
        vm.expectRevert(abi.encodeWithSelector(CustosPledges.ConsentExpired.selector, deadline, block.timestamp));
        pledges.consentReleaseWithSig(ACCOUNT_1, MARKET_A, 1, deadline, sig);
        // A signature of other terms does not recover to the lender.
        vm.expectRevert(abi.encodeWithSelector(CustosPledges.BadConsentSignature.selector, lender));
        pledges.consentReleaseWithSig(ACCOUNT_1, MARKET_A, 2, deadline + 1, sig);
    }

    /// A signed consent names the pledge's receipt: once that pledge has ended, it cannot
    /// let a release end a later pledge of the same account to the same market.
    function test_SignedConsentServesOnePledgeOnly() public {
        address first = _create(_plainTerms(ACCOUNT_1));
        uint64 deadline = uint64(block.timestamp + 1 days);
        bytes memory sig = _sig(PK_LENDER, pledges.consentDigest(ACCOUNT_1, MARKET_A, first, 3, deadline));
        vm.prank(lender);
        pledges.consentRelease(ACCOUNT_1, MARKET_A, 2);
        _attest(ACCOUNT_1, MARKET_A, 0, 1, 1);
        _attest(ACCOUNT_1, MARKET_A, RELEASE, 2, 0);
        _create(_plainTerms(ACCOUNT_1));
        vm.expectRevert(abi.encodeWithSelector(CustosPledges.BadConsentSignature.selector, lender));
        pledges.consentReleaseWithSig(ACCOUNT_1, MARKET_A, 3, deadline, sig);
    }

    // ------------------------------------------------------------------ known answer

    address internal constant VECTOR_REGISTRY = 0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512;
    bytes32 internal constant VECTOR_ACCOUNT = 0xcb0e8637d4b7fefd029f3c7a8e69d620904f2a688580efb11936bbcce77886ee;
    address internal constant VECTOR_MARKET = 0xBBBBBbbBBb9cC5e90e3b3Af64bdAF62C37EEFFCb;
    address internal constant VECTOR_LENDER = 0x1563915e194D8CfBA1943570603F7606A3115508;
    address internal constant VECTOR_RECEIPT = 0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0;

    /// The digest and an ethers signature from test/vectors/consent.json (written by
    /// tools/consent-vector.js): the registry's code, placed at the vector's address on
    /// chain 1 with a pledge whose lender is the vector's key, computes the same digest
    /// and accepts the signature.
    function test_ConsentKnownAnswer() public {
        string memory json = vm.readFile("test/vectors/consent.json");
        assertEq(vm.parseJsonAddress(json, ".domain.verifyingContract"), VECTOR_REGISTRY, "vector address");
        assertEq(vm.parseJsonBytes32(json, ".consent.account"), VECTOR_ACCOUNT, "vector account");
        assertEq(vm.parseJsonAddress(json, ".signature.address"), VECTOR_LENDER, "vector lender");
        assertEq(vm.parseJsonAddress(json, ".consent.receipt"), VECTOR_RECEIPT, "vector receipt");
        uint64 sequence = uint64(vm.parseJsonUint(json, ".consent.sequence"));
        uint64 deadline = uint64(vm.parseJsonUint(json, ".consent.deadline"));

        vm.prank(OWNER);
        adapter.registerAccount(VECTOR_ACCOUNT, FEED_A);
        CustosPledges.Terms memory t = _plainTerms(VECTOR_ACCOUNT);
        t.beneficiary = VECTOR_MARKET;
        t.lender = VECTOR_LENDER;
        address receipt = _create(t);
        // Same code (immutables included) and the pledge's storage at the vector's
        // address, its receipt at the vector's receipt address.
        vm.etch(VECTOR_REGISTRY, address(pledges).code);
        vm.etch(VECTOR_RECEIPT, receipt.code);
        bytes32 base = keccak256(abi.encode(VECTOR_MARKET, keccak256(abi.encode(VECTOR_ACCOUNT, uint256(2)))));
        for (uint256 i = 1; i < 5; i++) {
            bytes32 slot = bytes32(uint256(base) + i);
            vm.store(VECTOR_REGISTRY, slot, vm.load(address(pledges), slot));
        }
        vm.store(VECTOR_REGISTRY, base, bytes32(uint256(uint160(VECTOR_RECEIPT)))); // live, no consent
        vm.chainId(1);
        CustosPledges atVector = CustosPledges(VECTOR_REGISTRY);
        assertEq(atVector.pledge(VECTOR_ACCOUNT, VECTOR_MARKET).lender, VECTOR_LENDER, "pledge copied");
        assertEq(
            atVector.consentDigest(VECTOR_ACCOUNT, VECTOR_MARKET, VECTOR_RECEIPT, sequence, deadline),
            vm.parseJsonBytes32(json, ".digest"),
            "digest"
        );
        atVector.consentReleaseWithSig(
            VECTOR_ACCOUNT, VECTOR_MARKET, sequence, deadline, vm.parseJsonBytes(json, ".signature.rsv")
        );
        assertEq(uint256(atVector.pledge(VECTOR_ACCOUNT, VECTOR_MARKET).consentedSequence), sequence, "consented");
    }

    function test_ReceiptOfAPledgeIsMintedToTheBorrower() public {
        CustosReceipt r = CustosReceipt(_create(_plainTerms(ACCOUNT_1)));
        assertEq(r.balanceOf(BORROWER), 1e18, "minted");
        assertEq(address(r.pledges()), address(pledges), "registry");
    }
}
