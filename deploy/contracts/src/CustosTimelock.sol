// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";

/// The adapter's owner functions the timelock calls or reads (CustosAdapter).
interface ICustosAdapterOwned {
    function feed(bytes32 feedId)
        external
        view
        returns (
            uint8 threshold,
            bool distinctRoles,
            uint32 maxAge,
            uint32 maxSkew,
            uint32 maxTtl,
            uint32 breakerRiseBps,
            uint8 breakerReleaseThreshold,
            uint32 maxSequenceStep
        );
    function setFeed(bytes32 feedId, uint8 threshold, bool distinctRoles, uint32 maxAge, uint32 maxSkew, uint32 maxTtl)
        external;
    function setBreaker(bytes32 feedId, uint32 riseBps, uint8 releaseThreshold) external;
    function setSequenceStep(bytes32 feedId, uint32 maxStep) external;
    function revokeSigner(bytes32 feedId, address key) external;
    function acceptOwnership() external;
}

/// @title CustosTimelock
/// @notice The adapter's owner in production: what makes the adapter accept more (a new
/// or rotated-in signer key, a looser feed policy, breaker or sequence step, an account
/// registration, a held rise released, the pledge registry, a new owner) takes effect only
/// `delay` seconds after it was scheduled, in public (an event), so that custodians and
/// lenders can see it coming and react; what makes it accept less (a revocation, a tighter
/// policy) is forwarded at once. Whether a change is tighter is decided against the
/// adapter's current feed policy. See deploy/contracts/README.md and docs/adapter.md.
/// @dev A separate contract keeps the adapter's bytecode (near the EIP-170 limit) as it is.
contract CustosTimelock is Ownable2Step {
    /// The shortest delay the timelock accepts: long enough to notice and react.
    uint64 public constant MIN_DELAY = 1 hours;
    /// The longest: an owner that cannot act for a month cannot run the adapter.
    uint64 public constant MAX_DELAY = 30 days;
    /// How long a ready change may wait for its execution before it must be scheduled again.
    uint64 public constant GRACE_PERIOD = 14 days;

    ICustosAdapterOwned public immutable adapter;
    uint64 public delay;
    /// When a scheduled change (by id) may be executed; 0: not scheduled.
    mapping(bytes32 id => uint64 readyAt) public readyAt;

    event Scheduled(bytes32 indexed id, bytes data, uint64 readyAt);
    event Cancelled(bytes32 indexed id);
    event Executed(bytes32 indexed id, bytes data);
    event DelayScheduled(bytes32 indexed id, uint64 newDelay, uint64 readyAt);
    event DelayChanged(uint64 oldDelay, uint64 newDelay);
    event Forwarded(bytes4 indexed selector, bytes32 indexed feedId);

    error InvalidDelay(uint64 delay);
    error AlreadyScheduled(bytes32 id);
    error NotScheduled(bytes32 id);
    error NotReady(bytes32 id, uint64 readyAt);
    error Expired(bytes32 id, uint64 readyAt);
    error NotTightening();
    error CallFailed(bytes reason);

    constructor(address initialOwner, address adapter_, uint64 delay_) Ownable(initialOwner) {
        if (delay_ < MIN_DELAY || delay_ > MAX_DELAY) revert InvalidDelay(delay_);
        adapter = ICustosAdapterOwned(adapter_);
        delay = delay_;
    }

    // ================================================================== delayed

    /// The id of a change: the adapter call's ABI-encoded data.
    function idOf(bytes calldata data) public pure returns (bytes32) {
        return keccak256(abi.encode(bytes32("adapter"), data));
    }

    /// The id of a change of the delay itself.
    function delayIdOf(uint64 newDelay) public pure returns (bytes32) {
        return keccak256(abi.encode(bytes32("delay"), newDelay));
    }

    /// @notice Schedules any adapter owner call (data: its ABI-encoded call) to be executed
    /// after `delay`.
    function schedule(bytes calldata data) external onlyOwner returns (bytes32 id) {
        id = idOf(data);
        uint64 at = _schedule(id);
        emit Scheduled(id, data, at);
    }

    /// @notice Executes a scheduled adapter call once its delay has passed.
    function execute(bytes calldata data) external onlyOwner {
        bytes32 id = idOf(data);
        _consume(id);
        (bool ok, bytes memory reason) = address(adapter).call(data);
        if (!ok) revert CallFailed(reason);
        emit Executed(id, data);
    }

    /// @notice Schedules a change of the delay (MIN_DELAY to MAX_DELAY), itself after the
    /// current delay: a shorter delay cannot be had faster than the longer one allows.
    function scheduleDelay(uint64 newDelay) external onlyOwner returns (bytes32 id) {
        if (newDelay < MIN_DELAY || newDelay > MAX_DELAY) revert InvalidDelay(newDelay);
        id = delayIdOf(newDelay);
        uint64 at = _schedule(id);
        emit DelayScheduled(id, newDelay, at);
    }

    function executeDelay(uint64 newDelay) external onlyOwner {
        _consume(delayIdOf(newDelay));
        emit DelayChanged(delay, newDelay);
        delay = newDelay;
    }

    /// @notice Drops a scheduled change (an adapter call's or a delay's id).
    function cancel(bytes32 id) external onlyOwner {
        if (readyAt[id] == 0) revert NotScheduled(id);
        delete readyAt[id];
        emit Cancelled(id);
    }

    // ================================================================== immediate

    /// @notice Revokes a signer key at once.
    function revokeSigner(bytes32 feedId, address key) external onlyOwner {
        adapter.revokeSigner(feedId, key);
        emit Forwarded(this.revokeSigner.selector, feedId);
    }

    /// @notice Sets an existing feed's policy at once when it is no looser than the current
    /// one in every field: threshold not lower, distinct roles kept (or turned on), maxAge,
    /// maxSkew and maxTtl not higher. Anything else goes through schedule.
    function tightenFeed(bytes32 feedId, uint8 threshold, bool distinctRoles, uint32 maxAge, uint32 maxSkew, uint32 maxTtl)
        external
        onlyOwner
    {
        (uint8 t, bool roles, uint32 age, uint32 skew, uint32 ttl,,,) = adapter.feed(feedId);
        if (threshold < t || (roles && !distinctRoles) || maxAge > age || maxSkew > skew || maxTtl > ttl) {
            revert NotTightening();
        }
        adapter.setFeed(feedId, threshold, distinctRoles, maxAge, maxSkew, maxTtl);
        emit Forwarded(this.tightenFeed.selector, feedId);
    }

    /// @notice Sets a feed's circuit breaker at once when it is no looser: turned on where
    /// it was off, or a bound not higher with a release quorum not lower.
    function tightenBreaker(bytes32 feedId, uint32 riseBps, uint8 releaseThreshold) external onlyOwner {
        (,,,,, uint32 bps, uint8 release,) = adapter.feed(feedId);
        if (riseBps == 0 || (bps != 0 && (riseBps > bps || releaseThreshold < release))) revert NotTightening();
        adapter.setBreaker(feedId, riseBps, releaseThreshold);
        emit Forwarded(this.tightenBreaker.selector, feedId);
    }

    /// @notice Lowers a feed's bound on sequence steps at once.
    function tightenSequenceStep(bytes32 feedId, uint32 maxStep) external onlyOwner {
        (,,,,,,, uint32 step) = adapter.feed(feedId);
        if (maxStep > step) revert NotTightening();
        adapter.setSequenceStep(feedId, maxStep);
        emit Forwarded(this.tightenSequenceStep.selector, feedId);
    }

    /// @notice Completes the hand-over of the adapter (after its owner called
    /// transferOwnership(this timelock)).
    function acceptAdapterOwnership() external onlyOwner {
        adapter.acceptOwnership();
    }

    // ================================================================== internals

    function _schedule(bytes32 id) private returns (uint64 at) {
        if (readyAt[id] != 0) revert AlreadyScheduled(id);
        at = uint64(block.timestamp) + delay;
        readyAt[id] = at;
    }

    function _consume(bytes32 id) private {
        uint64 at = readyAt[id];
        if (at == 0) revert NotScheduled(id);
        if (block.timestamp < at) revert NotReady(id, at);
        if (block.timestamp >= uint256(at) + GRACE_PERIOD) revert Expired(id, at);
        delete readyAt[id];
    }
}
