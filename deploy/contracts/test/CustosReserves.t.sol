// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {CustosFixture} from "./utils/CustosFixture.sol";
import {CustosAdapter} from "../src/CustosAdapter.sol";
import {CustosReserves, ICustosReservesSource} from "../src/CustosReserves.sol";
import {Attestation} from "../src/CustosTypes.sol";

/// CustosReserves (docs/adapter.md §13): reserves published only with the feed's quorum,
/// the adapter's pledged total kept by submit, and reservesOk / collateralValueFor failing
/// closed when the pledged total exceeds the attested reserves, when the reserves are stale
/// or when there are none.
contract CustosReservesTest is CustosFixture {
    CustosReserves internal res;

    uint64 internal constant RES_MAX_AGE = 2 days;
    uint64 internal constant RES_SKEW = 5 minutes;
    bytes32 internal constant ROOT = keccak256("sum root");
    bytes32 internal constant ACCOUNT_2 = keccak256("bank-a/account-2");

    function setUp() public override {
        super.setUp();
        res = new CustosReserves(ICustosReservesSource(address(adapter)), RES_MAX_AGE, RES_SKEW);
        vm.prank(OWNER);
        adapter.registerAccount(ACCOUNT_2, FEED_A);
    }

    /// Packs the keys' signatures over d by increasing signer address.
    function _signDigest(bytes32 d, uint256 a, uint256 b) internal pure returns (bytes memory) {
        (uint256 lo, uint256 hi) = vm.addr(a) < vm.addr(b) ? (a, b) : (b, a);
        return bytes.concat(_sig(lo, d), _sig(hi, d));
    }

    function _publish(uint256 total, uint64 asOf, uint64 sequence, uint256 pkA, uint256 pkB) internal {
        bytes32 d = res.digest(FEED_A, total, 2, ROOT, asOf, sequence);
        res.publish(FEED_A, total, 2, ROOT, asOf, sequence, _signDigest(d, pkA, pkB));
    }

    function _value(bytes32 account, address beneficiary, uint64 sequence, uint256 value) internal {
        Attestation memory a = _valuation(sequence, value);
        a.account = account;
        a.beneficiary = beneficiary;
        _submit(a);
    }

    /// The digest is the EIP-712 digest of the C library's type string on the adapter's
    /// domain: recomputed here from its parts.
    function test_DigestIsTheAttestationDomains() public view {
        bytes32 typehash = keccak256(
            "ReservesAttestation(bytes32 feedId,uint256 totalCollateral,uint64 accounts,bytes32 sumRoot,uint64 asOf,uint64 sequence)"
        );
        bytes32 sh = keccak256(abi.encode(typehash, FEED_A, uint256(7), uint64(2), ROOT, uint64(T0), uint64(3)));
        bytes32 want = keccak256(abi.encodePacked(hex"1901", adapter.domainSeparator(), sh));
        assertEq(res.digest(FEED_A, 7, 2, ROOT, uint64(T0), 3), want, "res.digest(FEED_A, 7, 2, ROOT, uint64(T0), 3), want");
    }

    function test_PublishWithQuorum() public {
        _publish(1_000e18, uint64(block.timestamp), 1, PK_CUSTODIAN, PK_AGENT);
        CustosReserves.Reserves memory r = res.reserves(FEED_A);
        assertEq(r.totalCollateral, 1_000e18, "r.totalCollateral, 1_000e18");
        assertEq(r.sumRoot, ROOT, "r.sumRoot, ROOT");
        assertEq(r.accounts, 2, "r.accounts, 2");
        assertEq(r.sequence, 1, "r.sequence, 1");
        assertTrue(res.reservesOk(FEED_A), "res.reservesOk(FEED_A)");
    }

    /// Feed A needs two distinct roles: two custodian keys are one role, one key alone is
    /// short, an outsider is unknown.
    function test_BadQuorumRefused() public {
        uint64 t = uint64(block.timestamp);
        bytes32 d = res.digest(FEED_A, 1e18, 2, ROOT, t, 1);
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.TooFewRoles.selector, 1, 2));
        res.publish(FEED_A, 1e18, 2, ROOT, t, 1, _signDigest(d, PK_CUSTODIAN, PK_CUSTODIAN_2));
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.TooFewRoles.selector, 1, 2));
        res.publish(FEED_A, 1e18, 2, ROOT, t, 1, _sig(PK_CUSTODIAN, d));
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.UnknownSigner.selector, vm.addr(PK_OUTSIDER)));
        res.publish(FEED_A, 1e18, 2, ROOT, t, 1, _signDigest(d, PK_CUSTODIAN, PK_OUTSIDER));
        // Signatures over other fields (a larger total) do not carry over.
        bytes memory sigs = _signDigest(d, PK_CUSTODIAN, PK_AGENT);
        vm.expectRevert();
        res.publish(FEED_A, 2e18, 2, ROOT, t, 1, sigs);
        // Unknown feed.
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.UnknownFeed.selector, keccak256("nope")));
        res.publish(keccak256("nope"), 1e18, 2, ROOT, t, 1, sigs);
        assertTrue(!res.reservesOk(FEED_A), "!res.reservesOk(FEED_A)");
    }

    function test_ReplayStaleFutureRefused() public {
        _publish(1e18, uint64(block.timestamp), 5, PK_CUSTODIAN, PK_AGENT);
        uint64 t = uint64(block.timestamp);
        bytes32 d = res.digest(FEED_A, 1e18, 2, ROOT, t, 5);
        bytes memory sigs = _signDigest(d, PK_CUSTODIAN, PK_AGENT);
        vm.expectRevert(abi.encodeWithSelector(CustosReserves.ReservesReplay.selector, 5, 5));
        res.publish(FEED_A, 1e18, 2, ROOT, t, 5, sigs);

        uint64 old = uint64(block.timestamp - RES_MAX_AGE - 1);
        d = res.digest(FEED_A, 1e18, 2, ROOT, old, 6);
        vm.expectRevert(abi.encodeWithSelector(CustosReserves.ReservesStale.selector, old, block.timestamp));
        res.publish(FEED_A, 1e18, 2, ROOT, old, 6, _signDigest(d, PK_CUSTODIAN, PK_AGENT));

        uint64 ahead = uint64(block.timestamp + RES_SKEW + 1);
        d = res.digest(FEED_A, 1e18, 2, ROOT, ahead, 6);
        vm.expectRevert(abi.encodeWithSelector(CustosReserves.ReservesFromFuture.selector, ahead, block.timestamp));
        res.publish(FEED_A, 1e18, 2, ROOT, ahead, 6, _signDigest(d, PK_CUSTODIAN, PK_AGENT));

        d = res.digest(FEED_A, 1e18, 0, ROOT, t, 6);
        vm.expectRevert(_err(CustosReserves.EmptyReserves.selector));
        res.publish(FEED_A, 1e18, 0, ROOT, t, 6, _signDigest(d, PK_CUSTODIAN, PK_AGENT));
    }

    /// submit keeps the feed's pledged total: valuations to a lender add, a new value
    /// replaces, a freeze and a release take the account out, an unpledged valuation counts
    /// nothing, and another feed's accounts are not in it.
    function test_PledgedTotalFollowsSubmit() public {
        assertEq(adapter.pledgedCollateral(FEED_A), 0, "adapter.pledgedCollateral(FEED_A), 0");
        _value(ACCOUNT_1, MARKET_A, 1, 600e18);
        _value(ACCOUNT_2, MARKET_B, 1, 300e18);
        assertEq(adapter.pledgedCollateral(FEED_A), 900e18, "adapter.pledgedCollateral(FEED_A), 900e18");
        _value(ACCOUNT_1, MARKET_A, 2, 500e18);
        assertEq(adapter.pledgedCollateral(FEED_A), 800e18, "adapter.pledgedCollateral(FEED_A), 800e18");

        Attestation memory f = _ofKind(_valuation(3, 0), 2);
        adapter.submit(FEED_A, f, _sign(f, _keys(PK_CUSTODIAN)));
        assertEq(adapter.pledgedCollateral(FEED_A), 300e18, "adapter.pledgedCollateral(FEED_A), 300e18");
        _value(ACCOUNT_1, MARKET_A, 4, 450e18);
        assertEq(adapter.pledgedCollateral(FEED_A), 750e18, "adapter.pledgedCollateral(FEED_A), 750e18");

        Attestation memory rel = _ofKind(_valuation(2, 0), 1);
        rel.account = ACCOUNT_2;
        rel.beneficiary = MARKET_B;
        _submit(rel);
        assertEq(adapter.pledgedCollateral(FEED_A), 450e18, "adapter.pledgedCollateral(FEED_A), 450e18");
        _value(ACCOUNT_2, address(0), 3, 999e18);
        assertEq(adapter.pledgedCollateral(FEED_A), 450e18, "adapter.pledgedCollateral(FEED_A), 450e18");

        Attestation memory b = _valuation(1, 77e18);
        b.account = ACCOUNT_B;
        adapter.submit(FEED_B, b, _sign(b, _keys(PK_BANK_B)));
        assertEq(adapter.pledgedCollateral(FEED_A), 450e18, "adapter.pledgedCollateral(FEED_A), 450e18");
        assertEq(adapter.pledgedCollateral(FEED_B), 77e18, "adapter.pledgedCollateral(FEED_B), 77e18");
    }

    /// The pledged total above the attested reserves: reservesOk false and the guarded read
    /// reverts; new reserves that cover it restore both.
    function test_SumOverTotalFailsClosed() public {
        _value(ACCOUNT_1, MARKET_A, 1, 600e18);
        _publish(1_000e18, uint64(block.timestamp), 1, PK_CUSTODIAN, PK_AGENT);
        assertTrue(res.reservesOk(FEED_A), "res.reservesOk(FEED_A)");
        assertEq(res.collateralValueFor(ACCOUNT_1, MARKET_A), 600e18, "res.collateralValueFor(ACCOUNT_1, MARKET_A), 600e18");

        _value(ACCOUNT_2, MARKET_B, 1, 400e18); // exactly the total: still backed
        assertTrue(res.reservesOk(FEED_A), "res.reservesOk(FEED_A)");
        _value(ACCOUNT_2, MARKET_B, 2, 400e18 + 1);
        assertTrue(!res.reservesOk(FEED_A), "!res.reservesOk(FEED_A)");
        vm.expectRevert(
            abi.encodeWithSelector(CustosReserves.ReservesExceeded.selector, FEED_A, 1_000e18 + 1, 1_000e18)
        );
        res.collateralValueFor(ACCOUNT_1, MARKET_A);

        vm.warp(block.timestamp + 60);
        _publish(1_000e18 + 1, uint64(block.timestamp), 2, PK_ADMIN, PK_AGENT);
        assertTrue(res.reservesOk(FEED_A), "res.reservesOk(FEED_A)");
        assertEq(res.collateralValueFor(ACCOUNT_1, MARKET_A), 600e18, "res.collateralValueFor(ACCOUNT_1, MARKET_A), 600e18");
    }

    /// Reserves older than maxAge back nothing; a feed with none backs nothing.
    function test_StaleOrMissingReservesFailClosed() public {
        _value(ACCOUNT_1, MARKET_A, 1, 600e18);
        vm.expectRevert(abi.encodeWithSelector(CustosReserves.NoReserves.selector, FEED_A));
        res.collateralValueFor(ACCOUNT_1, MARKET_A);
        assertTrue(!res.reservesOk(FEED_A), "!res.reservesOk(FEED_A)");

        uint64 t = uint64(block.timestamp);
        _publish(1_000e18, t, 1, PK_CUSTODIAN, PK_AGENT);
        vm.warp(uint256(t) + RES_MAX_AGE);
        assertTrue(res.reservesOk(FEED_A), "res.reservesOk(FEED_A)");
        vm.warp(uint256(t) + RES_MAX_AGE + 1);
        assertTrue(!res.reservesOk(FEED_A), "!res.reservesOk(FEED_A)");
        vm.expectRevert(abi.encodeWithSelector(CustosReserves.ReservesStale.selector, t, block.timestamp));
        res.collateralValueFor(ACCOUNT_1, MARKET_A);
    }

    function test_ConstructorRefusesNoAdapterOrNoAge() public {
        vm.expectRevert(_err(CustosReserves.InvalidConfig.selector));
        new CustosReserves(ICustosReservesSource(address(0)), 1 days, 0);
        vm.expectRevert(_err(CustosReserves.InvalidConfig.selector));
        new CustosReserves(ICustosReservesSource(address(adapter)), 0, 0);
    }

    /// Gas of publishing reserves (printed: forge test -vv --match-test test_GasPublish).
    function test_GasPublish() public {
        uint64 t = uint64(block.timestamp);
        bytes32 d = res.digest(FEED_A, 1_000e18, 2, ROOT, t, 1);
        bytes memory sigs = _signDigest(d, PK_CUSTODIAN, PK_AGENT);
        uint256 before = gasleft();
        res.publish(FEED_A, 1_000e18, 2, ROOT, t, 1, sigs);
        log("CustosReserves.publish, 2 signatures, first (gas)", before - gasleft());
        _value(ACCOUNT_1, MARKET_A, 1, 600e18);
        before = gasleft();
        assertTrue(res.reservesOk(FEED_A), "res.reservesOk(FEED_A)");
        log("CustosReserves.reservesOk (gas)", before - gasleft());
    }
}
