// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {CustosFixture} from "./utils/CustosFixture.sol";
import {CustosAdapter} from "../src/CustosAdapter.sol";
import {Attestation} from "../src/CustosTypes.sol";

/// The rules the adapter shares with the gateway beyond the signatures: the circuit breaker
/// on rises (rule 6) and its base, bounded sequence steps (rule 12), the signature limit
/// and the order of the freshness checks (rule 3).
contract CustosBreakerTest is CustosFixture {
    uint256 internal constant V = 1_000_000e18;
    uint32 internal constant RISE_BPS = 2500; // 25%

    function setUp() public override {
        super.setUp();
        // FEED_A: 2 distinct roles publish; a rise of more than 25% needs 3 roles.
        vm.prank(OWNER);
        adapter.setBreaker(FEED_A, RISE_BPS, 3);
    }

    function _held(Attestation memory a, uint256 base, uint256 have) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(CustosAdapter.BreakerHeld.selector, base, a.collateralValue, have, uint256(3));
    }

    // ------------------------------------------------------------------ the breaker

    function test_RiseBeyondBoundNeedsReleaseThreshold() public {
        _submit(_valuation(1, V));
        Attestation memory a = _valuation(2, V * 1000);
        bytes memory quorum = _sign(a, _keys(PK_CUSTODIAN, PK_AGENT));
        vm.expectRevert(_held(a, V, 2));
        adapter.submit(FEED_A, a, quorum); // anyone may submit; the breaker still applies
        adapter.submit(FEED_A, a, _sign(a, _keys(PK_CUSTODIAN, PK_AGENT, PK_AUDITOR)));
        assertEq(adapter.collateralValue(ACCOUNT_1), V * 1000, "released by three roles");
    }

    function test_BoundIsInclusiveAndFallsFlow() public {
        _submit(_valuation(1, V));
        _submit(_valuation(2, V + V / 4)); // exactly +25%: flows
        Attestation memory a = _valuation(3, V + V / 4 + (V + V / 4) / 4 + 1); // one wei over
        bytes memory quorum = _sign(a, _keys(PK_CUSTODIAN, PK_AGENT));
        vm.expectRevert(_held(a, V + V / 4, 2));
        adapter.submit(FEED_A, a, quorum);
        _submit(_valuation(3, 1)); // any fall flows
        assertEq(adapter.collateralValue(ACCOUNT_1), 1, "fall");
    }

    function test_FirstValuationFlows() public {
        _submit(_valuation(1, V * 1000));
        (bool has, uint256 value,) = adapter.lastValuation(ACCOUNT_1);
        assertTrue(has, "has a valuation");
        assertEq(value, V * 1000, "base");
    }

    function test_RiseFromZeroIsHeld() public {
        _submit(_valuation(1, 0));
        Attestation memory a = _valuation(2, 1);
        bytes memory quorum = _sign(a, _keys(PK_CUSTODIAN, PK_AGENT));
        vm.expectRevert(_held(a, 0, 2));
        adapter.submit(FEED_A, a, quorum);
    }

    /// Defect: a freeze by the custodian alone carrying the target value became the base,
    /// and the next quorum-signed rise of 100x went through.
    function test_FreezeNeverBecomesTheBase() public {
        _submit(_valuation(1, V));
        Attestation memory f = _ofKind(_valuation(2, V * 100), 2);
        adapter.submit(FEED_A, f, _sign(f, _keys(PK_CUSTODIAN)));
        Attestation memory a = _valuation(3, V * 100);
        bytes memory quorum = _sign(a, _keys(PK_CUSTODIAN, PK_AGENT));
        vm.expectRevert(_held(a, V, 2));
        adapter.submit(FEED_A, a, quorum);
        (, uint256 base,) = adapter.lastValuation(ACCOUNT_1);
        assertEq(base, V, "base after the freeze");
    }

    /// Defect: the attestor's freezes and releases carry 0, and became the base, so the
    /// next valuation, even unchanged, was held. A quorum lifts a freeze.
    function test_FreezeAndReleaseWithZeroKeepTheBase() public {
        _submit(_valuation(1, V));
        Attestation memory f = _ofKind(_valuation(2, 0), 2);
        adapter.submit(FEED_A, f, _sign(f, _keys(PK_CUSTODIAN)));
        assertEq(adapter.latest(ACCOUNT_1).collateralValue, 0, "frozen: nothing counts");
        _submit(_valuation(3, V)); // unchanged: flows, and lifts the freeze
        assertEq(adapter.collateralValue(ACCOUNT_1), V, "freeze lifted by the quorum");

        Attestation memory r = _ofKind(_valuation(4, 0), 1);
        _submit(r);
        assertEq(adapter.collateralValue(ACCOUNT_1), 0, "released");
        _submit(_valuation(5, V + V / 10));
        assertEq(adapter.collateralValue(ACCOUNT_1), V + V / 10, "re-pledged within the bound");
    }

    function test_OwnerReleasesOneHeldRise() public {
        _submit(_valuation(1, V));
        Attestation memory a = _valuation(2, V * 10);
        bytes memory quorum = _sign(a, _keys(PK_CUSTODIAN, PK_AGENT));
        bytes32 d = _digest(a);
        vm.expectRevert(abi.encodeWithSelector(0x118cdaa7, address(this))); // OwnableUnauthorizedAccount
        adapter.releaseHeld(ACCOUNT_1, d);
        vm.prank(OWNER);
        adapter.releaseHeld(ACCOUNT_1, d);
        (,, bytes32 released) = adapter.lastValuation(ACCOUNT_1);
        assertEq(released, d, "released digest");

        Attestation memory other = _valuation(2, V * 11); // another digest: still held
        bytes memory otherSigs = _sign(other, _keys(PK_CUSTODIAN, PK_AGENT));
        vm.expectRevert(_held(other, V, 2));
        adapter.submit(FEED_A, other, otherSigs);
        adapter.submit(FEED_A, a, quorum);
        assertEq(adapter.collateralValue(ACCOUNT_1), V * 10, "released rise");

        vm.prank(OWNER);
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.UnknownAccount.selector, keccak256("nope")));
        adapter.releaseHeld(keccak256("nope"), d);
    }

    function test_SignersFeedCountsSlots() public {
        vm.prank(OWNER);
        adapter.setFeed(FEED_A, 2, false, MAX_AGE, MAX_SKEW, MAX_TTL);
        _submit(_valuation(1, V));
        Attestation memory a = _valuation(2, V * 2);
        // Two custodian keys and an agent: three signers, two roles; counted as signers.
        adapter.submit(FEED_A, a, _sign(a, _keys(PK_CUSTODIAN, PK_CUSTODIAN_2, PK_AGENT)));
        assertEq(adapter.collateralValue(ACCOUNT_1), V * 2, "three signers release");
    }

    function test_RolesFeedCountsRoles() public {
        _submit(_valuation(1, V));
        Attestation memory a = _valuation(2, V * 2);
        bytes memory sigs = _sign(a, _keys(PK_CUSTODIAN, PK_CUSTODIAN_2, PK_AGENT));
        vm.expectRevert(_held(a, V, 2)); // three signers, two roles
        adapter.submit(FEED_A, a, sigs);
    }

    function test_BreakerOffByDefaultAndWhenSwitchedOff() public {
        vm.prank(OWNER);
        adapter.setBreaker(FEED_A, 0, 0);
        _submit(_valuation(1, V));
        _submit(_valuation(2, V * 1000));
        assertEq(adapter.collateralValue(ACCOUNT_1), V * 1000, "no breaker");
    }

    function test_HugeBaseAndBound() public {
        uint32 most = adapter.MAX_BREAKER_RISE_BPS();
        vm.prank(OWNER);
        adapter.setBreaker(FEED_A, most, 3);
        uint256 top = adapter.MAX_VALUE();
        _submit(_valuation(1, top / 2));
        _submit(_valuation(2, top)); // +100% of a base near 2^127: within 100x, no overflow
        assertEq(adapter.collateralValue(ACCOUNT_1), top, "top value");
    }

    function test_RevertBreakerPolicy() public {
        vm.startPrank(OWNER);
        vm.expectRevert(_err(CustosAdapter.InvalidPolicy.selector));
        adapter.setBreaker(FEED_A, 100, 2); // not above the threshold
        vm.expectRevert(_err(CustosAdapter.InvalidPolicy.selector));
        adapter.setBreaker(FEED_A, 100, 5); // five distinct roles do not exist
        vm.expectRevert(_err(CustosAdapter.InvalidPolicy.selector));
        adapter.setBreaker(FEED_A, 0, 3); // a release threshold without a breaker
        vm.expectRevert(_err(CustosAdapter.InvalidPolicy.selector));
        adapter.setBreaker(FEED_A, 1_000_001, 3);
        vm.expectRevert(_err(CustosAdapter.InvalidPolicy.selector));
        adapter.setBreaker(FEED_B, 100, 17);
        vm.expectRevert(_err(CustosAdapter.InvalidPolicy.selector));
        adapter.setFeed(FEED_A, 3, true, MAX_AGE, MAX_SKEW, MAX_TTL); // would reach the release threshold
        adapter.setBreaker(FEED_B, 100, 16);
        vm.expectRevert(_err(CustosAdapter.InvalidPolicy.selector));
        adapter.setFeed(FEED_B, 1, true, MAX_AGE, MAX_SKEW, MAX_TTL); // 16 distinct roles
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.UnknownFeed.selector, keccak256("nope")));
        adapter.setBreaker(keccak256("nope"), 100, 3);
        vm.stopPrank();
        (,,,,, uint32 riseBps, uint8 releaseThreshold,) = adapter.feed(FEED_A);
        assertEq(riseBps, RISE_BPS, "rise bound kept");
        assertEq(releaseThreshold, 3, "release threshold kept");
    }

    // ------------------------------------------------------------------ sequence steps

    /// Defect: one custodian key froze an account at sequence 2^64-1, and nothing could
    /// follow. Now a step is bounded, and a quorum lifts the freeze.
    function test_SequenceStepsAreBounded() public {
        uint64 step = adapter.DEFAULT_MAX_SEQUENCE_STEP();
        Attestation memory first = _valuation(uint64(step) + 1, V);
        bytes memory sigs = _sign(first, _keys(PK_CUSTODIAN, PK_AGENT));
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.SequenceJump.selector, uint64(0), step + 1, uint32(step)));
        adapter.submit(FEED_A, first, sigs);
        _submit(_valuation(step, V)); // the first sequence may be the step itself

        Attestation memory f = _ofKind(_valuation(type(uint64).max, 0), 2);
        bytes memory sig = _sign(f, _keys(PK_CUSTODIAN));
        vm.expectRevert(
            abi.encodeWithSelector(CustosAdapter.SequenceJump.selector, step, type(uint64).max, uint32(step))
        );
        adapter.submit(FEED_A, f, sig);

        f.sequence = 2 * step; // the largest step a freeze may take
        adapter.submit(FEED_A, f, _sign(f, _keys(PK_CUSTODIAN)));
        _submit(_valuation(2 * step + 1, V)); // the quorum lifts it
        assertEq(adapter.collateralValue(ACCOUNT_1), V, "freeze lifted");
    }

    function test_SequenceStepConfigurable() public {
        vm.prank(OWNER);
        adapter.setSequenceStep(FEED_A, 10);
        _submit(_valuation(10, V));
        Attestation memory a = _valuation(21, V);
        bytes memory sigs = _sign(a, _keys(PK_CUSTODIAN, PK_AGENT));
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.SequenceJump.selector, uint64(10), uint64(21), uint32(10)));
        adapter.submit(FEED_A, a, sigs);
        _submit(_valuation(20, V));
        vm.prank(OWNER);
        vm.expectRevert(_err(CustosAdapter.InvalidPolicy.selector));
        adapter.setSequenceStep(FEED_A, 0);
        vm.prank(OWNER);
        adapter.setFeed(FEED_A, 2, true, MAX_AGE, MAX_SKEW, MAX_TTL);
        (,,,,,,, uint32 maxStep) = adapter.feed(FEED_A);
        assertEq(maxStep, 10, "a policy update keeps the step");
    }

    // ------------------------------------------------------------------ limits and order

    function test_RevertTooManySignatures() public {
        Attestation memory a = _valuation(1, V);
        bytes memory one = _sign(a, _keys(PK_CUSTODIAN));
        bytes memory seventeen;
        for (uint256 i; i < 17; i++) {
            seventeen = bytes.concat(seventeen, one);
        }
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.TooManySignatures.selector, uint256(17), uint256(16)));
        adapter.submit(FEED_A, a, seventeen);
    }

    /// The gateway's order (rule 3): window, TTL, future, stale, expired.
    function test_FreshnessOrderAsTheGateway() public {
        Attestation memory a = _valuation(1, V);
        a.asOf = uint64(T0 + MAX_SKEW + 100); // from the future...
        a.validUntil = a.asOf; // ...with an empty window
        bytes memory sigs = _sign(a, _keys(PK_CUSTODIAN, PK_AGENT));
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.InvalidWindow.selector, a.asOf, a.validUntil));
        adapter.submit(FEED_A, a, sigs);

        a.validUntil = a.asOf + MAX_TTL + 1; // too long a window, from the future
        sigs = _sign(a, _keys(PK_CUSTODIAN, PK_AGENT));
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.TtlTooLong.selector, uint64(MAX_TTL + 1), uint64(MAX_TTL)));
        adapter.submit(FEED_A, a, sigs);
    }
}
