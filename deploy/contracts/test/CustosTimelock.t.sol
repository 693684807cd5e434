// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

import {CustosFixture} from "./utils/CustosFixture.sol";
import {CustosAdapter} from "../src/CustosAdapter.sol";
import {CustosTimelock} from "../src/CustosTimelock.sol";
import {Attestation} from "../src/CustosTypes.sol";

/// The adapter owned by CustosTimelock: additions and loosening only after the delay,
/// revocations and tightening at once, cancel, the delay's own change delayed.
contract CustosTimelockTest is CustosFixture {
    CustosTimelock internal lock;

    uint64 internal constant DELAY = 2 days;
    uint256 internal constant PK_NEW_1 = 0xA77AC1;
    uint256 internal constant PK_NEW_2 = 0xA77AC2;
    uint256 internal constant V = 50_000_000e18;

    function setUp() public override {
        super.setUp();
        // The initial configuration above is the deployer's; then the hand-over.
        lock = new CustosTimelock(OWNER, address(adapter), DELAY);
        vm.prank(OWNER);
        adapter.transferOwnership(address(lock));
        vm.prank(OWNER);
        lock.acceptAdapterOwnership();
        assertEq(adapter.owner(), address(lock), "the timelock owns the adapter");
    }

    function _addSignerCall(uint256 pk, uint8 role) internal pure returns (bytes memory) {
        return abi.encodeCall(CustosAdapter.addSigner, (FEED_A, vm.addr(pk), role));
    }

    /// The attack the timelock stops: the owner adds two keys and signs a value with them.
    function test_AdditionBeforeDelayReverts() public {
        bytes memory add1 = _addSignerCall(PK_NEW_1, 0);
        bytes memory add2 = _addSignerCall(PK_NEW_2, 1);
        vm.startPrank(OWNER);
        // The old owner key no longer reaches the adapter directly.
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, OWNER));
        adapter.addSigner(FEED_A, vm.addr(PK_NEW_1), 0);
        bytes32 id = lock.schedule(add1);
        lock.schedule(add2);
        vm.expectRevert(abi.encodeWithSelector(CustosTimelock.NotReady.selector, id, uint64(T0 + DELAY)));
        lock.execute(add1);
        vm.warp(T0 + DELAY - 1);
        vm.expectRevert(abi.encodeWithSelector(CustosTimelock.NotReady.selector, id, uint64(T0 + DELAY)));
        lock.execute(add1);
        vm.stopPrank();

        Attestation memory a = _valuation(1, V * 1000);
        bytes memory sigs = _sign(a, _keys(PK_NEW_1, PK_NEW_2));
        address first = vm.addr(PK_NEW_1) < vm.addr(PK_NEW_2) ? vm.addr(PK_NEW_1) : vm.addr(PK_NEW_2);
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.UnknownSigner.selector, first));
        adapter.submit(FEED_A, a, sigs);
        (uint8 status,,) = adapter.signer(FEED_A, vm.addr(PK_NEW_1));
        assertEq(status, 0, "not added before the delay");
    }

    function test_AdditionAfterDelayWorks() public {
        bytes memory add1 = _addSignerCall(PK_NEW_1, 0);
        vm.prank(OWNER);
        bytes32 id = lock.schedule(add1);
        assertEq(lock.readyAt(id), T0 + DELAY, "ready after the delay");
        vm.warp(T0 + DELAY);
        vm.expectEmit(true, false, false, true, address(lock));
        emit CustosTimelock.Executed(id, add1);
        vm.prank(OWNER);
        lock.execute(add1);
        (uint8 status, uint8 role,) = adapter.signer(FEED_A, vm.addr(PK_NEW_1));
        assertEq(status, 1, "added");
        assertEq(role, 0, "as custodian");
        assertEq(lock.readyAt(id), 0, "consumed");
        // Once: executing again needs scheduling again.
        vm.prank(OWNER);
        vm.expectRevert(abi.encodeWithSelector(CustosTimelock.NotScheduled.selector, id));
        lock.execute(add1);
    }

    function test_ScheduleEmitsAndIsOwnerOnly() public {
        bytes memory add1 = _addSignerCall(PK_NEW_1, 0);
        bytes32 id = lock.idOf(add1);
        vm.expectEmit(true, false, false, true, address(lock));
        emit CustosTimelock.Scheduled(id, add1, uint64(T0 + DELAY));
        vm.prank(OWNER);
        lock.schedule(add1);
        vm.prank(OWNER);
        vm.expectRevert(abi.encodeWithSelector(CustosTimelock.AlreadyScheduled.selector, id));
        lock.schedule(add1);

        address outsider = vm.addr(PK_OUTSIDER);
        vm.startPrank(outsider);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, outsider));
        lock.schedule(add1);
        vm.warp(T0 + DELAY);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, outsider));
        lock.execute(add1);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, outsider));
        lock.revokeSigner(FEED_A, vm.addr(PK_AGENT));
        vm.stopPrank();
    }

    function test_RevocationImmediate() public {
        vm.prank(OWNER);
        lock.revokeSigner(FEED_A, vm.addr(PK_AGENT));
        (uint8 status,,) = adapter.signer(FEED_A, vm.addr(PK_AGENT));
        assertEq(status, 2, "revoked at once");
        Attestation memory a = _valuation(1, V);
        bytes memory sigs = _sign(a, _keys(PK_CUSTODIAN, PK_AGENT));
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.RevokedSigner.selector, vm.addr(PK_AGENT)));
        adapter.submit(FEED_A, a, sigs);
    }

    function test_LooseningDelayed() public {
        vm.startPrank(OWNER);
        // A lower threshold, roles no longer distinct, a longer maxAge: each is looser.
        vm.expectRevert(_err(CustosTimelock.NotTightening.selector));
        lock.tightenFeed(FEED_A, 1, true, MAX_AGE, MAX_SKEW, MAX_TTL);
        vm.expectRevert(_err(CustosTimelock.NotTightening.selector));
        lock.tightenFeed(FEED_A, 2, false, MAX_AGE, MAX_SKEW, MAX_TTL);
        vm.expectRevert(_err(CustosTimelock.NotTightening.selector));
        lock.tightenFeed(FEED_A, 2, true, MAX_AGE + 1, MAX_SKEW, MAX_TTL);
        vm.expectRevert(_err(CustosTimelock.NotTightening.selector));
        lock.tightenFeed(FEED_A, 2, true, MAX_AGE, MAX_SKEW + 1, MAX_TTL);
        vm.expectRevert(_err(CustosTimelock.NotTightening.selector));
        lock.tightenFeed(FEED_A, 2, true, MAX_AGE, MAX_SKEW, MAX_TTL + 1);
        // A breaker turned off, or a higher bound, or a lower release quorum.
        lock.tightenBreaker(FEED_A, 1000, 3);
        vm.expectRevert(_err(CustosTimelock.NotTightening.selector));
        lock.tightenBreaker(FEED_A, 0, 0);
        vm.expectRevert(_err(CustosTimelock.NotTightening.selector));
        lock.tightenBreaker(FEED_A, 1001, 3);
        vm.expectRevert(_err(CustosTimelock.NotTightening.selector));
        lock.tightenBreaker(FEED_B, 0, 0);
        // A larger sequence step.
        vm.expectRevert(_err(CustosTimelock.NotTightening.selector));
        lock.tightenSequenceStep(FEED_A, 1_000_001);

        // Through schedule, after the delay.
        bytes memory loosen = abi.encodeCall(CustosAdapter.setFeed, (FEED_A, 1, false, MAX_AGE, MAX_SKEW, MAX_TTL));
        bytes memory off = abi.encodeCall(CustosAdapter.setBreaker, (FEED_A, 0, 0));
        lock.schedule(off);
        lock.schedule(loosen);
        vm.warp(T0 + DELAY - 1);
        vm.expectRevert(
            abi.encodeWithSelector(CustosTimelock.NotReady.selector, lock.idOf(loosen), uint64(T0 + DELAY))
        );
        lock.execute(loosen);
        vm.warp(T0 + DELAY);
        lock.execute(off);
        lock.execute(loosen);
        vm.stopPrank();
        (uint8 threshold, bool roles,,,, uint32 bps,,) = adapter.feed(FEED_A);
        assertEq(threshold, 1, "threshold lowered after the delay");
        assertTrue(!roles, "roles no longer distinct");
        assertEq(bps, 0, "breaker off after the delay");
    }

    function test_TighteningImmediate() public {
        vm.startPrank(OWNER);
        lock.tightenFeed(FEED_A, 2, true, MAX_AGE - 1 days, MAX_SKEW - 1, MAX_TTL - 1);
        lock.tightenFeed(FEED_B, 2, true, MAX_AGE, MAX_SKEW, MAX_TTL); // more signers, by role
        lock.tightenBreaker(FEED_A, 5000, 3); // on where it was off
        lock.tightenBreaker(FEED_A, 1000, 4); // a lower bound, a larger quorum
        lock.tightenSequenceStep(FEED_A, 10);
        vm.stopPrank();
        (uint8 t, bool roles, uint32 age, uint32 skew, uint32 ttl, uint32 bps, uint8 release, uint32 step) =
            adapter.feed(FEED_A);
        assertEq(t, 2, "t");
        assertTrue(roles, "roles");
        assertEq(age, MAX_AGE - 1 days, "age");
        assertEq(skew, MAX_SKEW - 1, "skew");
        assertEq(ttl, MAX_TTL - 1, "ttl");
        assertEq(bps, 1000, "bps");
        assertEq(release, 4, "release");
        assertEq(step, 10, "step");
        (t, roles,,,,,,) = adapter.feed(FEED_B);
        assertEq(t, 2, "t");
        assertTrue(roles, "roles");
        // What the adapter refuses is refused through the timelock too.
        vm.prank(OWNER);
        vm.expectRevert(_err(CustosAdapter.InvalidPolicy.selector));
        lock.tightenSequenceStep(FEED_A, 0);
    }

    function test_Cancel() public {
        bytes memory add1 = _addSignerCall(PK_NEW_1, 0);
        vm.startPrank(OWNER);
        bytes32 id = lock.schedule(add1);
        vm.expectEmit(true, false, false, false, address(lock));
        emit CustosTimelock.Cancelled(id);
        lock.cancel(id);
        vm.warp(T0 + DELAY);
        vm.expectRevert(abi.encodeWithSelector(CustosTimelock.NotScheduled.selector, id));
        lock.execute(add1);
        vm.expectRevert(abi.encodeWithSelector(CustosTimelock.NotScheduled.selector, id));
        lock.cancel(id);
        vm.stopPrank();
        (uint8 status,,) = adapter.signer(FEED_A, vm.addr(PK_NEW_1));
        assertEq(status, 0, "a cancelled addition never happens");
    }

    function test_DelayChangeDelayed() public {
        vm.startPrank(OWNER);
        vm.expectRevert(abi.encodeWithSelector(CustosTimelock.InvalidDelay.selector, uint64(1 hours - 1)));
        lock.scheduleDelay(1 hours - 1);
        vm.expectRevert(abi.encodeWithSelector(CustosTimelock.InvalidDelay.selector, uint64(31 days)));
        lock.scheduleDelay(31 days);
        bytes32 id = lock.scheduleDelay(1 hours);
        vm.expectRevert(abi.encodeWithSelector(CustosTimelock.NotReady.selector, id, uint64(T0 + DELAY)));
        lock.executeDelay(1 hours);
        assertEq(lock.delay(), DELAY, "unchanged before its own delay");
        vm.warp(T0 + DELAY);
        lock.executeDelay(1 hours);
        assertEq(lock.delay(), 1 hours, "changed after it");
        // An addition scheduled now waits the new delay.
        bytes memory add1 = _addSignerCall(PK_NEW_1, 0);
        lock.schedule(add1);
        assertEq(lock.readyAt(lock.idOf(add1)), T0 + DELAY + 1 hours, "lock.readyAt(lock.idOf(add1))");
        vm.stopPrank();

        vm.expectRevert(abi.encodeWithSelector(CustosTimelock.InvalidDelay.selector, uint64(0)));
        new CustosTimelock(OWNER, address(adapter), 0);
    }

    function test_ExpiredAndFailedCalls() public {
        bytes memory add1 = _addSignerCall(PK_NEW_1, 0);
        bytes memory again = _addSignerCall(PK_AGENT, 1); // already listed
        vm.startPrank(OWNER);
        bytes32 id = lock.schedule(add1);
        lock.schedule(again);
        vm.warp(T0 + DELAY + lock.GRACE_PERIOD());
        vm.expectRevert(abi.encodeWithSelector(CustosTimelock.Expired.selector, id, uint64(T0 + DELAY)));
        lock.execute(add1);
        vm.warp(T0 + DELAY);
        vm.expectRevert(
            abi.encodeWithSelector(
                CustosTimelock.CallFailed.selector,
                abi.encodeWithSelector(CustosAdapter.SignerExists.selector, vm.addr(PK_AGENT))
            )
        );
        lock.execute(again);
        vm.stopPrank();
    }

    /// Handing the adapter to another owner is an addition like any other.
    function test_OwnershipTransferDelayed() public {
        address next = address(0xBEEF);
        bytes memory transfer = abi.encodeCall(Ownable.transferOwnership, (next));
        vm.startPrank(OWNER);
        lock.schedule(transfer);
        vm.expectRevert(
            abi.encodeWithSelector(CustosTimelock.NotReady.selector, lock.idOf(transfer), uint64(T0 + DELAY))
        );
        lock.execute(transfer);
        vm.warp(T0 + DELAY);
        lock.execute(transfer);
        vm.stopPrank();
        vm.prank(next);
        adapter.acceptOwnership();
        assertEq(adapter.owner(), next, "adapter.owner()");
    }
}
