// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {Attestation, StoredAttestation, CustosEIP712} from "./CustosTypes.sol";
import {CustosAccountFeed} from "./CustosAccountFeed.sol";
import {ICustosReleaseGuard} from "./lending/ICustosReleaseGuard.sol";

/// @title CustosAdapter
/// @notice On-chain end of Custos: re-verifies custodian collateral attestations (EIP-712,
/// secp256k1, allow-listed signers, quorum, freshness, replay, bounded sequence steps, one
/// lender at a time, the circuit breaker on rises) and offers the accepted value per
/// account, directly and through Chainlink-compatible per-account feeds (CustosAccountFeed).
/// @dev The gateway is a relayer, not a trust anchor: whoever calls submit() can only
/// publish what the allow-listed signers signed. See deploy/contracts/README.md.
contract CustosAdapter is Ownable2Step {
    // ------------------------------------------------------------------ constants

    uint8 public constant KIND_VALUATION = 0;
    uint8 public constant KIND_RELEASE = 1;
    uint8 public constant KIND_FREEZE = 2;

    uint8 public constant ROLE_CUSTODIAN = 0;
    uint8 public constant ROLE_VALUATION_AGENT = 1;
    uint8 public constant ROLE_FUND_ADMINISTRATOR = 2;
    uint8 public constant ROLE_AUDITOR = 3;

    /// Longest overlap a rotated-out key may keep signing for.
    uint64 public constant MAX_ROTATION_OVERLAP = 30 days;
    /// Signer slots per feed (a slot is one signing party; rotation keeps the slot).
    uint256 public constant MAX_SIGNER_SLOTS = 256;
    /// Signatures one attestation may carry, as at the gateway (rule 1).
    uint256 public constant MAX_SIGNATURES = 16;
    /// A new feed's bound on sequence steps (rule 12), as the gateway's default.
    uint32 public constant DEFAULT_MAX_SEQUENCE_STEP = 1_000_000;
    /// The largest breaker bound, in basis points (100x), as the gateway's.
    uint32 public constant MAX_BREAKER_RISE_BPS = 1_000_000;

    uint256 private constant SIG_LEN = 65;
    uint256 private constant HALF_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    uint8 private constant SIGNER_NONE = 0;
    uint8 private constant SIGNER_ACTIVE = 1;
    uint8 private constant SIGNER_REVOKED = 2;

    // ------------------------------------------------------------------ storage

    /// Per-feed policy; one storage slot.
    struct Feed {
        uint16 index; // 1-based; 0 = no such feed
        uint8 threshold; // distinct signers (or roles) needed for valuation and release
        bool distinctRoles; // threshold counts distinct roles instead of signers
        uint32 maxAge; // seconds: block.timestamp - asOf <= maxAge
        uint32 maxSkew; // seconds: asOf <= block.timestamp + maxSkew
        uint32 maxTtl; // seconds: validUntil - asOf <= maxTtl
        uint16 nextSlot; // signer slots handed out so far
        uint32 breakerRiseBps; // rule 6: a rise beyond this over the last valuation needs...
        uint8 breakerReleaseThreshold; // ...this many signers (or roles); 0 with the breaker off
        uint32 maxSequenceStep; // rule 12: sequence - last (0 before the first) at most this
    }

    /// Per (feed, key); one storage slot.
    struct Signer {
        uint8 status; // SIGNER_*
        uint8 role; // ROLE_*
        uint8 slot; // signing party; a rotation hands the slot to the new key
        uint64 retiresAt; // 0, or the end of a rotation overlap (valid while now < retiresAt)
    }

    /// Per account; four storage slots, written as a whole.
    struct Account {
        // slot 0
        address beneficiary;
        uint64 asOf;
        uint8 kind;
        bool hasRecord;
        uint16 feedIndex; // 0 = not registered
        // slot 1
        uint64 validUntil;
        uint64 sequence;
        bool hasValuation; // a valuation was accepted: collateralValue is its value
        // slot 2: the value of the latest accepted valuation, which a later freeze or release
        // keeps (rule 6: the breaker's base); counted only while kind is a valuation
        uint256 collateralValue;
        // slot 3
        bytes32 positionsRoot;
    }

    bytes32 private immutable _cachedDomainSeparator;
    uint256 private immutable _cachedChainId;
    address private immutable _cachedThis;

    mapping(bytes32 feedId => Feed) private _feeds;
    mapping(uint256 index => bytes32 feedId) private _feedIds;
    uint16 private _feedCount;
    mapping(bytes32 feedId => mapping(address key => Signer)) private _signers;
    mapping(bytes32 account => Account) private _accounts;
    mapping(bytes32 account => mapping(address beneficiary => address feed)) private _accountFeeds;
    /// The pledge registry (CustosPledges) every release must pass (rule 11); set once.
    address public pledges;
    /// Per account, the digest of a held rise the owner released (rule 6): it passes the
    /// breaker with the feed's ordinary quorum, as the gateway's operator release does.
    mapping(bytes32 account => bytes32 digest) private _releasedHeld;
    /// Per feed, the sum of the values lenders may count: each account's latest accepted
    /// valuation while it is pledged (beneficiary set), expired or not (docs/adapter.md §13).
    /// CustosReserves compares it with the feed's attested reserves.
    mapping(bytes32 feedId => uint256 total) private _pledgedCollateral;

    // ------------------------------------------------------------------ events

    event AttestationAccepted(
        bytes32 indexed account,
        bytes32 indexed feedId,
        uint64 indexed sequence,
        uint8 kind,
        uint256 collateralValue,
        uint64 asOf,
        bytes32 digest
    );
    event FeedConfigured(
        bytes32 indexed feedId, uint8 threshold, bool distinctRoles, uint32 maxAge, uint32 maxSkew, uint32 maxTtl
    );
    event SignerAdded(bytes32 indexed feedId, address indexed signer, uint8 role, uint8 slot);
    event SignerRevoked(bytes32 indexed feedId, address indexed signer);
    event SignerRotated(bytes32 indexed feedId, address indexed oldSigner, address indexed newSigner, uint64 oldValidUntil);
    event AccountRegistered(bytes32 indexed account, bytes32 indexed feedId);
    event AccountFeedCreated(bytes32 indexed account, address indexed beneficiary, address feed);
    event PledgesInstalled(address pledges);
    event BreakerConfigured(bytes32 indexed feedId, uint32 riseBps, uint8 releaseThreshold);
    event SequenceStepConfigured(bytes32 indexed feedId, uint32 maxStep);
    event HeldReleased(bytes32 indexed account, bytes32 digest);

    // ------------------------------------------------------------------ errors

    // submit: the attestation and its feed
    error UnknownFeed(bytes32 feedId);
    error UnknownAccount(bytes32 account);
    error AccountOfOtherFeed(bytes32 account, bytes32 boundFeedId);
    error UnknownKind(uint8 kind);
    error ValueOutOfRange(uint256 value);
    // submit: time
    error Stale(uint64 asOf, uint256 now);
    error FromFuture(uint64 asOf, uint256 now);
    error Expired(uint64 validUntil, uint256 now);
    error InvalidWindow(uint64 asOf, uint64 validUntil);
    error TtlTooLong(uint64 ttl, uint64 maxTtl);
    // submit: state of the account
    error Replay(uint64 last, uint64 got);
    error SequenceJump(uint64 last, uint64 got, uint32 maxStep);
    error PledgedElsewhere(address current);
    // submit: signatures
    error MalformedSignatures(uint256 length);
    error TooManySignatures(uint256 count, uint256 max);
    error NonCanonicalSignature(uint256 index);
    error BadSignature(uint256 index);
    error DuplicateOrUnsortedSigner(uint256 index);
    error UnknownSigner(address signer);
    error RevokedSigner(address signer);
    error RotatedOut(address signer, uint64 retiredAt);
    error DuplicateSignerSlot(address signer);
    error BelowThreshold(uint256 have, uint256 need);
    error TooFewRoles(uint256 have, uint256 need);
    error FreezeNeedsCustodian();
    error BreakerHeld(uint256 base, uint256 value, uint256 have, uint256 need);
    // reads
    error NoAttestation(bytes32 account);
    error Frozen(bytes32 account, uint64 sequence);
    error NoRoundData(uint80 roundId);
    // administration
    error InvalidPolicy();
    error InvalidRole(uint8 role);
    error InvalidSigner(address signer);
    error SignerExists(address signer);
    error SignerNotActive(address signer);
    error TooManySigners();
    error TooManyFeeds();
    error OverlapTooLong(uint64 overlap);
    error AccountAlreadyRegistered(bytes32 account, bytes32 feedId);
    error InvalidBeneficiary();
    error AccountFeedExists(address feed);
    error PledgesAlreadyInstalled(address current);
    error InvalidPledges(address pledges);

    constructor(address initialOwner) Ownable(initialOwner) {
        _cachedChainId = block.chainid;
        _cachedThis = address(this);
        _cachedDomainSeparator = CustosEIP712.domainSeparator(block.chainid, address(this));
    }

    // ================================================================== submit

    /// @notice Publishes one attestation.
    /// @param feedId the feed (custodian) the account is registered to.
    /// @param att the attestation exactly as signed.
    /// @param signatures the signatures, packed: n * 65 bytes of r || s || v, low-s,
    /// v in {27, 28}, ordered by strictly increasing signer address (the caller sorts).
    function submit(bytes32 feedId, Attestation calldata att, bytes calldata signatures) external {
        Feed memory policy = _feeds[feedId];
        if (policy.index == 0) revert UnknownFeed(feedId);
        Account storage prev = _accounts[att.account];
        {
            uint16 boundIndex = prev.feedIndex;
            if (boundIndex != policy.index) {
                if (boundIndex == 0) revert UnknownAccount(att.account);
                revert AccountOfOtherFeed(att.account, _feedIds[boundIndex]);
            }
        }
        uint8 kind = att.kind;
        if (kind > KIND_FREEZE) revert UnknownKind(kind);
        if (att.collateralValue > uint256(type(int256).max)) revert ValueOutOfRange(att.collateralValue);

        _checkTime(policy, att.asOf, att.validUntil);

        _checkSequence(prev, policy.maxSequenceStep, att.sequence);

        address beneficiary = prev.beneficiary;
        if (kind == KIND_VALUATION) {
            // One lender at a time: a new beneficiary only once the previous one released.
            if (beneficiary != address(0) && att.beneficiary != beneficiary) revert PledgedElsewhere(beneficiary);
            beneficiary = att.beneficiary;
        } else if (kind == KIND_RELEASE) {
            if (att.beneficiary != beneficiary) revert PledgedElsewhere(beneficiary);
            beneficiary = address(0);
        }
        // A freeze leaves the pledge as it is: the lender keeps its claim, the value is void.

        bytes32 d = CustosEIP712.digest(_domainSeparator(), CustosEIP712.structHash(att));
        uint256 weight = _checkSignatures(feedId, policy, kind, d, signatures);

        if (kind == KIND_VALUATION) _checkBreaker(policy, prev, att, weight, d);

        _recountPledged(feedId, prev, kind, beneficiary, att.collateralValue);

        // Written field by field (cheaper than a struct copy): feedIndex stays, and only a
        // valuation sets the value, so that a freeze or a release keeps the breaker's base.
        prev.beneficiary = beneficiary;
        prev.asOf = att.asOf;
        prev.kind = kind;
        prev.hasRecord = true;
        prev.validUntil = att.validUntil;
        prev.sequence = att.sequence;
        prev.positionsRoot = att.positionsRoot;
        uint256 shown; // the value the event reports: 0 for a release or a freeze
        if (kind == KIND_VALUATION) {
            shown = att.collateralValue;
            prev.hasValuation = true;
            prev.collateralValue = shown;
        }
        // Last, after every check of the adapter's own: the pledge registry reads the
        // lending market, and reverts while the lender has exposure and did not consent.
        if (kind == KIND_RELEASE) _guardRelease(att.account, att.beneficiary, att.sequence);

        emit AttestationAccepted(att.account, feedId, att.sequence, kind, shown, att.asOf, d);
    }

    /// The feed's pledged total, the account's counted value replaced: before it is written,
    /// prev still holds what was counted (a pledged valuation's value, else nothing).
    function _recountPledged(bytes32 feedId, Account storage prev, uint8 kind, address beneficiary, uint256 value)
        private
    {
        uint256 was = prev.hasRecord && prev.kind == KIND_VALUATION && prev.beneficiary != address(0)
            ? prev.collateralValue
            : 0;
        uint256 now_ = kind == KIND_VALUATION && beneficiary != address(0) ? value : 0;
        if (was != now_) _pledgedCollateral[feedId] = _pledgedCollateral[feedId] - was + now_;
    }

    /// Rules 4 and 12: strictly above the last sequence, by a bounded step (the first one at
    /// most the step), so that no key can push an account's sequence out of reach.
    function _checkSequence(Account storage prev, uint32 maxStep, uint64 sequence) private view {
        bool hasRecord = prev.hasRecord;
        uint64 last = hasRecord ? prev.sequence : 0;
        if (hasRecord && sequence <= last) revert Replay(last, sequence);
        unchecked {
            if (sequence - last > maxStep) revert SequenceJump(last, sequence, maxStep);
        }
    }

    /// Rule 6: a valuation rising beyond the feed's bound over the account's latest
    /// valuation needs the release threshold's weight, or the owner's releaseHeld of its
    /// digest. The base is a valuation's value only: a freeze or a release keeps it, what
    /// they carry never becomes one.
    function _checkBreaker(Feed memory policy, Account storage prev, Attestation calldata att, uint256 weight, bytes32 d)
        private
        view
    {
        if (policy.breakerRiseBps == 0 || weight >= policy.breakerReleaseThreshold || !prev.hasValuation) return;
        uint256 base = prev.collateralValue;
        if (_beyondBreaker(base, att.collateralValue, policy.breakerRiseBps) && _releasedHeld[att.account] != d) {
            revert BreakerHeld(base, att.collateralValue, weight, policy.breakerReleaseThreshold);
        }
    }

    /// Rule 3, in the gateway's order: the window, its length, then the clock.
    function _checkTime(Feed memory policy, uint64 asOf, uint64 validUntil) private view {
        if (validUntil <= asOf) revert InvalidWindow(asOf, validUntil);
        unchecked {
            uint64 ttl = validUntil - asOf;
            if (ttl > policy.maxTtl) revert TtlTooLong(ttl, policy.maxTtl);
        }
        uint256 nowTs = block.timestamp;
        if (uint256(asOf) > nowTs + policy.maxSkew) revert FromFuture(asOf, nowTs);
        if (nowTs > uint256(asOf) + policy.maxAge) revert Stale(asOf, nowTs);
        if (validUntil <= nowTs) revert Expired(validUntil, nowTs);
    }

    /// Rule 6: value - base > floor(base * bps / 10000), exactly as the gateway computes it:
    /// for integers that is (value - base) * 10000 > base * bps, compared on 512 bits.
    function _beyondBreaker(uint256 base, uint256 value, uint256 bps) private pure returns (bool) {
        if (value <= base) return false;
        (uint256 riseHigh, uint256 riseLow) = Math.mul512(value - base, 10000);
        (uint256 boundHigh, uint256 boundLow) = Math.mul512(base, bps);
        return riseHigh > boundHigh || (riseHigh == boundHigh && riseLow > boundLow);
    }

    /// Verifies every signature and returns the quorum's weight: the signers (each one
    /// signing party: slot), or their distinct roles on a distinctRoles feed. A freeze
    /// needs a custodian and no threshold; valuations and releases need the threshold.
    function _checkSignatures(bytes32 feedId, Feed memory policy, uint8 kind, bytes32 d, bytes calldata sigs)
        private
        view
        returns (uint256 weight)
    {
        uint256 len = sigs.length;
        if (len == 0 || len % SIG_LEN != 0) revert MalformedSignatures(len);
        uint256 n = len / SIG_LEN;
        if (n > MAX_SIGNATURES) revert TooManySignatures(n, MAX_SIGNATURES);
        mapping(address => Signer) storage keys = _signers[feedId];
        uint256 slotsSeen; // bitmap of signer slots
        uint256 rolesSeen; // bitmap of roles
        address prevSigner;
        for (uint256 i; i < n;) {
            bytes32 r;
            bytes32 s;
            uint8 v;
            assembly ("memory-safe") {
                let p := add(sigs.offset, mul(i, 65))
                r := calldataload(p)
                s := calldataload(add(p, 32))
                v := byte(0, calldataload(add(p, 64)))
            }
            if (uint256(s) > HALF_ORDER || (v != 27 && v != 28)) revert NonCanonicalSignature(i);
            address recovered = ecrecover(d, v, r, s);
            if (recovered == address(0)) revert BadSignature(i);
            if (recovered <= prevSigner) revert DuplicateOrUnsortedSigner(i);
            prevSigner = recovered;

            Signer memory k = keys[recovered];
            if (k.status != SIGNER_ACTIVE) {
                if (k.status == SIGNER_NONE) revert UnknownSigner(recovered);
                revert RevokedSigner(recovered);
            }
            if (k.retiresAt != 0 && block.timestamp >= k.retiresAt) revert RotatedOut(recovered, k.retiresAt);
            uint256 slotBit = uint256(1) << k.slot;
            // An old and a new key of one rotated party are one signer, not two.
            if (slotsSeen & slotBit != 0) revert DuplicateSignerSlot(recovered);
            slotsSeen |= slotBit;
            rolesSeen |= uint256(1) << k.role;
            unchecked {
                ++i;
            }
        }

        weight = policy.distinctRoles ? _popcount4(rolesSeen) : n;
        if (kind == KIND_FREEZE) {
            // Stopping a loan must be easy: the custodian alone suffices.
            if (rolesSeen & (uint256(1) << ROLE_CUSTODIAN) == 0) revert FreezeNeedsCustodian();
            return weight;
        }
        if (weight < policy.threshold) {
            if (policy.distinctRoles) revert TooFewRoles(weight, policy.threshold);
            revert BelowThreshold(n, policy.threshold);
        }
    }

    function _popcount4(uint256 bits) private pure returns (uint256 c) {
        unchecked {
            c = (bits & 1) + ((bits >> 1) & 1) + ((bits >> 2) & 1) + ((bits >> 3) & 1);
        }
    }

    // ================================================================== reads

    /// @notice The EIP-712 domain separator (recomputed if the chain id changed, e.g. after a fork).
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparator();
    }

    /// @notice The EIP-712 digest the signers sign for att on this chain and adapter.
    function digest(Attestation calldata att) external view returns (bytes32) {
        return CustosEIP712.digest(_domainSeparator(), CustosEIP712.structHash(att));
    }

    /// @notice The latest accepted attestation of an account (as stored: the collateral
    /// value is 0 after a release or a freeze), whatever its age.
    function latest(bytes32 account) external view returns (StoredAttestation memory out) {
        Account memory a = _accounts[account];
        if (!a.hasRecord) revert NoAttestation(account);
        out = StoredAttestation({
            feedId: _feedIds[a.feedIndex],
            beneficiary: a.beneficiary,
            kind: a.kind,
            collateralValue: a.kind == KIND_VALUATION ? a.collateralValue : 0,
            positionsRoot: a.positionsRoot,
            asOf: a.asOf,
            validUntil: a.validUntil,
            sequence: a.sequence
        });
    }

    /// @notice The collateral value a lender may count now (USD, 18 decimals); reverts
    /// NoAttestation, Frozen, Expired or Stale when there is none. 0 after a release.
    function collateralValue(bytes32 account) public view returns (uint256) {
        Account memory a = _accounts[account];
        if (!a.hasRecord) revert NoAttestation(account);
        if (a.kind == KIND_FREEZE) revert Frozen(account, a.sequence);
        if (a.validUntil <= block.timestamp) revert Expired(a.validUntil, block.timestamp);
        uint32 maxAge = _feeds[_feedIds[a.feedIndex]].maxAge;
        if (block.timestamp > uint256(a.asOf) + maxAge) revert Stale(a.asOf, block.timestamp);
        return a.kind == KIND_VALUATION ? a.collateralValue : 0;
    }

    /// @notice Like collateralValue(account), and PledgedElsewhere unless the account is
    /// pledged to `beneficiary`.
    function collateralValueFor(bytes32 account, address beneficiary) external view returns (uint256) {
        uint256 v = collateralValue(account);
        address current = _accounts[account].beneficiary;
        if (current != beneficiary) revert PledgedElsewhere(current);
        return v;
    }

    /// @notice The round a CustosAccountFeed reports: never reverts. `answer` is the value
    /// the beneficiary may count now, 0 when the account is not pledged to it, frozen,
    /// released, expired or older than the feed's maxAge; asOf (the feeds' updatedAt) is
    /// the real observation time, so that consumers checking staleness see it too, except
    /// that it never lies ahead of block.timestamp: an attestation may be up to maxSkew
    /// ahead of the chain's clock, and `block.timestamp - updatedAt` must not underflow.
    function accountRound(bytes32 account, address beneficiary)
        external
        view
        returns (uint64 sequence, uint256 answer, uint64 asOf)
    {
        Account memory a = _accounts[account];
        if (!a.hasRecord) return (0, 0, 0);
        sequence = a.sequence;
        asOf = a.asOf > block.timestamp ? uint64(block.timestamp) : a.asOf;
        uint32 maxAge = _feeds[_feedIds[a.feedIndex]].maxAge;
        if (
            a.kind == KIND_VALUATION && a.beneficiary == beneficiary && a.validUntil > block.timestamp
                && block.timestamp <= uint256(a.asOf) + maxAge
        ) {
            answer = a.collateralValue;
        }
    }

    /// @notice A feed's policy; the gateway's [feed] section must say the same (rule 10).
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
        )
    {
        Feed memory f = _feeds[feedId];
        if (f.index == 0) revert UnknownFeed(feedId);
        return (
            f.threshold,
            f.distinctRoles,
            f.maxAge,
            f.maxSkew,
            f.maxTtl,
            f.breakerRiseBps,
            f.breakerReleaseThreshold,
            f.maxSequenceStep
        );
    }

    /// @notice The breaker's base (rule 6): the value of the account's latest accepted
    /// valuation, which a later freeze or release does not change; has is false before the
    /// first valuation. `released` is the held rise the owner let through, if any.
    function lastValuation(bytes32 account) external view returns (bool has, uint256 value, bytes32 released) {
        Account storage a = _accounts[account];
        return (a.hasValuation, a.collateralValue, _releasedHeld[account]);
    }

    /// @notice The sum of the feed's pledged accounts' latest valuations (docs/adapter.md §13).
    function pledgedCollateral(bytes32 feedId) external view returns (uint256) {
        return _pledgedCollateral[feedId];
    }

    /// @notice Reverts as submit would unless `signatures` over `digest` make the feed's
    /// quorum for a valuation (allow-listed, active, sorted signers; the threshold of signers
    /// or distinct roles); returns its weight. For other contracts that accept what the
    /// feed's quorum signed, such as CustosReserves.
    function checkQuorum(bytes32 feedId, bytes32 digest_, bytes calldata signatures)
        external
        view
        returns (uint256 weight)
    {
        Feed memory policy = _feeds[feedId];
        if (policy.index == 0) revert UnknownFeed(feedId);
        return _checkSignatures(feedId, policy, KIND_VALUATION, digest_, signatures);
    }

    /// @return status 0 unknown, 1 active, 2 revoked; retiresAt 0 or the rotation deadline.
    function signer(bytes32 feedId, address key) external view returns (uint8 status, uint8 role, uint64 retiresAt) {
        Signer memory s = _signers[feedId][key];
        return (s.status, s.role, s.retiresAt);
    }

    function accountFeedId(bytes32 account) external view returns (bytes32) {
        return _feedIds[_accounts[account].feedIndex];
    }

    function accountFeed(bytes32 account, address beneficiary) external view returns (address) {
        return _accountFeeds[account][beneficiary];
    }

    // ================================================================== Chainlink feeds

    /// @notice Deploys the AggregatorV3Interface feed of `account` as seen by the lending
    /// market `beneficiary` (anyone may: a feed only reads). Deterministic (CREATE2).
    function createAccountFeed(bytes32 account, address beneficiary) external returns (address f) {
        if (beneficiary == address(0)) revert InvalidBeneficiary();
        if (_accounts[account].feedIndex == 0) revert UnknownAccount(account);
        f = _accountFeeds[account][beneficiary];
        if (f != address(0)) revert AccountFeedExists(f);
        f = address(new CustosAccountFeed{salt: keccak256(abi.encode(account, beneficiary))}(account, beneficiary));
        _accountFeeds[account][beneficiary] = f;
        emit AccountFeedCreated(account, beneficiary, f);
    }

    // ================================================================== administration

    /// @notice Creates or updates a feed's policy. A new feed has no breaker and the default
    /// bound on sequence steps; an existing one keeps both (setBreaker, setSequenceStep).
    function setFeed(bytes32 feedId, uint8 threshold, bool distinctRoles, uint32 maxAge, uint32 maxSkew, uint32 maxTtl)
        external
        onlyOwner
    {
        if (threshold == 0 || maxAge == 0 || maxTtl == 0 || (distinctRoles && threshold > 4)) revert InvalidPolicy();
        Feed storage f = _feeds[feedId];
        if (f.index == 0) {
            if (_feedCount == type(uint16).max) revert TooManyFeeds();
            uint16 idx = ++_feedCount;
            f.index = idx;
            f.maxSequenceStep = DEFAULT_MAX_SEQUENCE_STEP;
            _feedIds[idx] = feedId;
        } else if (f.breakerRiseBps != 0) {
            // A held rise must stay harder to publish than an ordinary valuation.
            if (threshold >= f.breakerReleaseThreshold || (distinctRoles && f.breakerReleaseThreshold > 4)) {
                revert InvalidPolicy();
            }
        }
        f.threshold = threshold;
        f.distinctRoles = distinctRoles;
        f.maxAge = maxAge;
        f.maxSkew = maxSkew;
        f.maxTtl = maxTtl;
        emit FeedConfigured(feedId, threshold, distinctRoles, maxAge, maxSkew, maxTtl);
    }

    /// @notice The circuit breaker of a feed (rule 6): a valuation whose value exceeds the
    /// account's latest valuation by more than riseBps basis points needs releaseThreshold
    /// signers (distinct roles on a distinctRoles feed), above the feed's threshold, or the
    /// owner's releaseHeld. riseBps 0 (with releaseThreshold 0) turns it off.
    function setBreaker(bytes32 feedId, uint32 riseBps, uint8 releaseThreshold) external onlyOwner {
        Feed storage f = _feedOf(feedId);
        if (riseBps == 0) {
            if (releaseThreshold != 0) revert InvalidPolicy();
        } else if (
            riseBps > MAX_BREAKER_RISE_BPS || releaseThreshold <= f.threshold || releaseThreshold > MAX_SIGNATURES
                || (f.distinctRoles && releaseThreshold > 4)
        ) {
            revert InvalidPolicy();
        }
        f.breakerRiseBps = riseBps;
        f.breakerReleaseThreshold = releaseThreshold;
        emit BreakerConfigured(feedId, riseBps, releaseThreshold);
    }

    /// @notice The largest step an account's sequence may take (rule 12): its first
    /// sequence, and each one after, at most maxStep above the last (1 to 2^32 - 1).
    function setSequenceStep(bytes32 feedId, uint32 maxStep) external onlyOwner {
        Feed storage f = _feedOf(feedId);
        if (maxStep == 0) revert InvalidPolicy();
        f.maxSequenceStep = maxStep;
        emit SequenceStepConfigured(feedId, maxStep);
    }

    /// @notice Lets one held rise of an account pass the breaker with the feed's ordinary
    /// quorum: the on-chain side of the gateway's operator release (rule 6). Every other
    /// check still applies to it; a later call for the account replaces it.
    function releaseHeld(bytes32 account, bytes32 digest_) external onlyOwner {
        if (_accounts[account].feedIndex == 0) revert UnknownAccount(account);
        _releasedHeld[account] = digest_;
        emit HeldReleased(account, digest_);
    }

    /// @notice Allow-lists a new signing party's key for a feed.
    function addSigner(bytes32 feedId, address key, uint8 role) external onlyOwner {
        Feed storage f = _feedOf(feedId);
        if (role > ROLE_AUDITOR) revert InvalidRole(role);
        if (key == address(0)) revert InvalidSigner(key);
        Signer storage s = _signers[feedId][key];
        if (s.status != SIGNER_NONE) revert SignerExists(key);
        uint16 slot = f.nextSlot;
        if (slot >= MAX_SIGNER_SLOTS) revert TooManySigners();
        f.nextSlot = slot + 1;
        s.status = SIGNER_ACTIVE;
        s.role = role;
        s.slot = uint8(slot);
        emit SignerAdded(feedId, key, role, uint8(slot));
    }

    /// @notice Revokes a key at once (also a rotated-out key still in its overlap).
    function revokeSigner(bytes32 feedId, address key) external onlyOwner {
        _feedOf(feedId);
        Signer storage s = _signers[feedId][key];
        if (s.status != SIGNER_ACTIVE) revert SignerNotActive(key);
        s.status = SIGNER_REVOKED;
        emit SignerRevoked(feedId, key);
    }

    /// @notice Replaces oldKey by newKey (same party, same role). oldKey stays valid for
    /// `overlap` seconds so that attestations already signed with it can still land.
    function rotateSigner(bytes32 feedId, address oldKey, address newKey, uint64 overlap) external onlyOwner {
        _feedOf(feedId);
        if (overlap > MAX_ROTATION_OVERLAP) revert OverlapTooLong(overlap);
        if (newKey == address(0)) revert InvalidSigner(newKey);
        mapping(address => Signer) storage keys = _signers[feedId];
        Signer storage o = keys[oldKey];
        if (o.status != SIGNER_ACTIVE || o.retiresAt != 0) revert SignerNotActive(oldKey);
        Signer storage n = keys[newKey];
        if (n.status != SIGNER_NONE) revert SignerExists(newKey);
        n.status = SIGNER_ACTIVE;
        n.role = o.role;
        n.slot = o.slot;
        uint64 deadline = uint64(block.timestamp) + overlap;
        o.retiresAt = deadline;
        emit SignerRotated(feedId, oldKey, newKey, deadline);
    }

    /// @notice Binds an account to the feed (custodian) allowed to attest it. Binding is
    /// permanent: no other feed's signers can ever attest the account.
    function registerAccount(bytes32 account, bytes32 feedId) external onlyOwner {
        Feed storage f = _feedOf(feedId);
        Account storage a = _accounts[account];
        if (a.feedIndex != 0) revert AccountAlreadyRegistered(account, _feedIds[a.feedIndex]);
        a.feedIndex = f.index;
        emit AccountRegistered(account, feedId);
    }

    // ================================================================== lending

    /// @notice Makes every later release pass `registry` (CustosPledges), once and for
    /// good: a pledge's release rules cannot be swapped under its lender.
    function installPledges(address registry) external onlyOwner {
        if (pledges != address(0)) revert PledgesAlreadyInstalled(pledges);
        if (registry.code.length == 0) revert InvalidPledges(registry);
        pledges = registry;
        emit PledgesInstalled(registry);
    }

    function _guardRelease(bytes32 account, address beneficiary, uint64 sequence) private {
        address guard = pledges;
        if (guard != address(0)) ICustosReleaseGuard(guard).onRelease(account, beneficiary, sequence);
    }

    // ================================================================== internals

    function _feedOf(bytes32 feedId) private view returns (Feed storage f) {
        f = _feeds[feedId];
        if (f.index == 0) revert UnknownFeed(feedId);
    }

    function _domainSeparator() private view returns (bytes32) {
        if (block.chainid == _cachedChainId && address(this) == _cachedThis) return _cachedDomainSeparator;
        return CustosEIP712.domainSeparator(block.chainid, address(this));
    }
}
