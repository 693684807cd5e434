// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

import {Attestation, Batch, StoredAttestation, CustosEIP712} from "./CustosTypes.sol";
import {CustosAccountFeed} from "./CustosAccountFeed.sol";
import {ICustosReleaseGuard} from "./lending/ICustosReleaseGuard.sol";

/// @title CustosAdapter
/// @notice On-chain end of Custos: re-verifies custodian collateral attestations (EIP-712,
/// secp256k1, allow-listed signers, quorum, freshness, replay, bounded sequence steps, one
/// lender at a time, the circuit breaker on rises), one by one (submit) or as signed
/// batches of valuations (submitBatch), and offers the accepted value per account,
/// directly and through Chainlink-compatible per-account feeds (CustosAccountFeed).
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
    /// The largest collateral value (rule 1): it fits the account's packed record, and a
    /// lender's int256 answer holds it exactly.
    uint256 public constant MAX_VALUE = type(uint128).max;
    /// The longest validity window a feed may allow (194 days): it fits the record too.
    uint32 public constant MAX_TTL = type(uint24).max;

    uint256 private constant SIG_LEN = 65;
    uint256 private constant HALF_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    uint8 private constant SIGNER_NONE = 0;
    uint8 private constant SIGNER_ACTIVE = 1;
    uint8 private constant SIGNER_REVOKED = 2;

    // An account's record, one slot written by every accepted attestation:
    // collateralValue (bits 0-127, the latest valuation's: the breaker's base, which a
    // freeze or a release keeps) | sequence (128-191) | asOf (192-231) | validUntil - asOf
    // (232-255). asOf fits 40 bits as it is at most maxSkew ahead of the chain's clock
    // (checked), the window 24 bits as maxTtl is at most MAX_TTL.
    uint256 private constant SEQUENCE_SHIFT = 128;
    uint256 private constant AS_OF_SHIFT = 192;
    uint256 private constant TTL_SHIFT = 232;
    // An account's binding, one slot written only when it changes: beneficiary (bits
    // 0-159) | feedIndex (160-175, 0 = not registered) | kind (176-183) | hasRecord (184) |
    // hasValuation (185).
    uint256 private constant FEED_INDEX_SHIFT = 160;
    uint256 private constant KIND_SHIFT = 176;
    uint256 private constant HAS_RECORD = 1 << 184;
    uint256 private constant HAS_VALUATION = 1 << 185;
    uint256 private constant FEED_INDEX_MASK = uint256(type(uint16).max) << FEED_INDEX_SHIFT;

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

    /// What each account of a batch is checked against: the feed's policy, the batch's
    /// window and signers' weight.
    struct BatchContext {
        uint16 feedIndex;
        uint32 maxSequenceStep;
        uint32 breakerRiseBps;
        uint8 breakerReleaseThreshold;
        uint256 weight;
        uint256 asOf;
        uint256 validUntil;
        uint256 timeBits; // asOf and the window, in place in the record word
        bytes32 separator;
        int256 pledgedDelta; // the written accounts' counted values, new less old (docs/adapter.md §13)
        bool breakerQuiet; // rule 6 holds nothing: the breaker is off, or the weight reaches its threshold
        bytes32 digest; // the batch's EIP-712 digest
    }

    // Where _applyBatch's assembly finds BatchContext's fields: a struct in memory holds
    // one word per field, in the order declared.
    uint256 private constant CTX_FEED_INDEX = 0x00;
    uint256 private constant CTX_MAX_STEP = 0x20;
    uint256 private constant CTX_BREAKER_RISE_BPS = 0x40;
    uint256 private constant CTX_AS_OF = 0xa0;
    uint256 private constant CTX_VALID_UNTIL = 0xc0;
    uint256 private constant CTX_TIME_BITS = 0xe0;
    uint256 private constant CTX_PLEDGED_DELTA = 0x120;
    uint256 private constant CTX_BREAKER_QUIET = 0x140;

    bytes32 private immutable _cachedDomainSeparator;
    uint256 private immutable _cachedChainId;
    address private immutable _cachedThis;

    mapping(bytes32 feedId => Feed) private _feeds;
    mapping(uint256 index => bytes32 feedId) private _feedIds;
    uint16 private _feedCount;
    mapping(bytes32 feedId => mapping(address key => Signer)) private _signers;
    /// Per account, the record word (layout above the storage).
    mapping(bytes32 account => uint256 record) private _records;
    /// Per account, the binding word (layout above the storage).
    mapping(bytes32 account => uint256 binding) private _bindings;
    mapping(bytes32 account => mapping(address beneficiary => address feed)) private _accountFeeds;
    /// The pledge registry (CustosPledges) every release must pass (rule 11); set once.
    address public pledges;
    /// Per account, the digest of a held rise the owner released (rule 6): it passes the
    /// breaker with the feed's ordinary quorum, as the gateway's operator release does.
    mapping(bytes32 account => bytes32 digest) private _releasedHeld;
    /// Per feed, the sum of the values lenders may count: each account's latest accepted
    /// valuation while it is pledged (beneficiary set), expired or not (docs/adapter.md §13).
    /// CustosReserves compares it with the feed's attested reserves.
    /// One above the feed's pledged total: setFeed stores the 1 when it creates the feed, so
    /// the first pledged account's submit changes a slot that is already non-zero (a 2,900
    /// gas write) instead of filling an empty one (22,100).
    mapping(bytes32 feedId => uint256 totalPlusOne) private _pledgedCollateral;
    /// Per feed, the sequence of its latest accepted batch (batches strictly increase).
    mapping(bytes32 feedId => uint64 sequence) private _batchSequences;

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
    /// A batch was accepted: every account of it was written except those named by an
    /// AccountRefused event of the same transaction (`refused` of them).
    event BatchAccepted(
        bytes32 indexed feedId, uint64 indexed sequence, bytes32 accountsRoot, uint32 count, uint32 refused, bytes32 digest
    );
    /// Some accounts of a batch (submitBatchPart) were accepted: every one of them was
    /// written except those named by an AccountRefused event of the same transaction.
    event BatchPartAccepted(
        bytes32 indexed feedId, uint64 indexed sequence, bytes32 accountsRoot, uint32 accounts, uint32 refused, bytes32 digest
    );
    /// One account of an accepted batch was not written; `reason` is the error submit
    /// would revert with for it (e.g. Replay, PledgedElsewhere, BreakerHeld).
    event AccountRefused(bytes32 indexed account, bytes32 indexed feedId, uint64 indexed batchSequence, bytes reason);

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
    // submitBatch: the batch (reverts it whole)
    error BatchOfOtherFeed(bytes32 batchFeedId, bytes32 feedId);
    error BatchCountMismatch(uint32 count, uint256 given);
    error BatchReplay(uint64 last, uint64 got);
    error LeavesNotSorted(uint256 index);
    error DuplicateAccount(bytes32 account);
    error WrongRoot(bytes32 signed, bytes32 rebuilt);
    // submitBatch: one account (refuses that account only, in AccountRefused)
    error KindNotInBatch(uint8 kind);
    error NotBatchTime(uint64 asOf, uint64 validUntil);
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
        uint256 binding = _bindings[att.account];
        _revertIf(_bindingError(binding, policy.index, att.account));
        uint8 kind = att.kind;
        if (kind > KIND_FREEZE) revert UnknownKind(kind);
        if (att.collateralValue > MAX_VALUE) revert ValueOutOfRange(att.collateralValue);

        _checkTime(policy, att.asOf, att.validUntil);

        uint256 record = _records[att.account];
        _revertIf(_sequenceError(binding, record, policy.maxSequenceStep, att.sequence));

        address beneficiary = address(uint160(binding));
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

        if (kind == KIND_VALUATION && _held(policy, binding, record, att.collateralValue, weight)) {
            if (_releasedHeld[att.account] != d) {
                revert BreakerHeld(uint128(record), att.collateralValue, weight, policy.breakerReleaseThreshold);
            }
        }

        _recountPledged(feedId, binding, record, kind, beneficiary, att.collateralValue);
        _write(att, binding, record, beneficiary);
        // Last, after every check of the adapter's own: the pledge registry reads the
        // lending market, and reverts while the lender has exposure and did not consent.
        if (kind == KIND_RELEASE) _guardRelease(att.account, att.beneficiary, att.sequence);

        _emitAccepted(feedId, att, d);
    }

    /// The value the event reports: 0 for a release or a freeze.
    function _emitAccepted(bytes32 feedId, Attestation calldata att, bytes32 d) private {
        uint8 kind = att.kind;
        emit AttestationAccepted(
            att.account, feedId, att.sequence, kind, kind == KIND_VALUATION ? att.collateralValue : 0, att.asOf, d
        );
    }

    /// @notice Publishes a signed batch of valuations (docs/adapter.md §14): the batch's
    /// signatures are verified once, the OpenZeppelin StandardMerkleTree root is rebuilt
    /// from `atts` (every account of the batch, in the tree's leaf order: strictly
    /// increasing leaf), then each account is checked as submit checks a valuation and
    /// written. An account that fails its own checks is refused alone (AccountRefused,
    /// with the error submit would give); a fault of the batch reverts it whole.
    /// @param signatures as for submit, over the batch's EIP-712 digest.
    function submitBatch(bytes32 feedId, Batch calldata b, Attestation[] calldata atts, bytes calldata signatures)
        external
    {
        BatchContext memory c = _verifyBatch(feedId, b, atts.length, signatures, true);
        _checkRoot(b, _batchRoot(atts));
        _batchSequences[feedId] = b.sequence;
        _applyAndEmit(BatchAccepted.selector, feedId, b, atts, c);
    }

    /// @notice Publishes some accounts of a signed batch (docs/adapter.md §14): an account
    /// the gateway accepted after the batch was sent, or a batch too large for one
    /// transaction, in parts. The batch is checked as by submitBatch except its sequence,
    /// which is neither checked nor recorded (a part of an older batch is legitimate: each
    /// account's own sequence rules refuse replays); `atts` (1 to count of the batch's
    /// accounts, in strictly increasing leaf order) are proven part of the signed root by
    /// an OpenZeppelin multiproof, then each account is checked and written as by
    /// submitBatch.
    /// @param proof the multiproof's sibling hashes and proofFlags its flags, as the
    /// OpenZeppelin merkle-tree package's getMultiProof gives them.
    function submitBatchPart(
        bytes32 feedId,
        Batch calldata b,
        Attestation[] calldata atts,
        bytes32[] calldata proof,
        bool[] calldata proofFlags,
        bytes calldata signatures
    ) external {
        BatchContext memory c = _verifyBatch(feedId, b, atts.length, signatures, false);
        _checkRoot(b, _partRoot(atts, proof, proofFlags));
        _applyAndEmit(BatchPartAccepted.selector, feedId, b, atts, c);
    }

    /// The root a part's multiproof rebuilds, by OpenZeppelin's algorithm
    /// (MerkleProof.processMultiProof): a queue of the leaves, then of the hashes made from
    /// them, each step hashing the sorted pair of the queue's next node and either the
    /// one after it (a flag set) or the proof's next hash. The leaves are hashed as
    /// _batchRoot does and must strictly increase (the order of a StandardMerkleTree's
    /// multiproof, which also keeps a leaf from appearing twice).
    /// @dev In assembly, as OpenZeppelin's Solidity does not fit the adapter's size bound
    /// (EIP-170). Stricter than OpenZeppelin's in two ways no multiproof it makes can
    /// meet: a step may only take a hash already made (not a zero word of the queue), and a
    /// flag must be 0 or 1. A malformed multiproof reverts with OpenZeppelin's
    /// MerkleProofInvalidMultiproof.
    function _partRoot(Attestation[] calldata atts, bytes32[] calldata proof, bool[] calldata proofFlags)
        private
        pure
        returns (bytes32 root)
    {
        bytes32 typeHash = CustosEIP712.TYPEHASH;
        uint256 unsorted; // index + 1 of the first leaf not above the one before it
        bool malformed;
        assembly ("memory-safe") {
            // TYPEHASH || the 9 fields hashed per account, then the queue: the leaves, then
            // the hash of each step.
            let queue := add(mload(0x40), 0x140)
            mstore(sub(queue, 0x140), typeHash)
            for { let i := 0 } lt(i, atts.length) { i := add(i, 1) } {
                calldatacopy(sub(queue, 0x120), add(atts.offset, mul(i, 0x120)), 0x120)
                mstore(0x00, keccak256(sub(queue, 0x140), 0x140))
                mstore(0x00, keccak256(0x00, 0x20))
                mstore(add(queue, shl(5, i)), keccak256(0x00, 0x20))
                if and(gt(i, 0), iszero(gt(mload(add(queue, shl(5, i))), mload(add(queue, shl(5, sub(i, 1))))))) {
                    unsorted := add(i, 1)
                    break
                }
            }
            // Each step consumes two nodes and makes one, the last being the root: the leaves
            // and the proof's hashes are one more than the steps.
            malformed := iszero(eq(add(atts.length, proof.length), add(proofFlags.length, 1)))
            let q := 0 // the queue's next node
            let used := 0 // the proof's hashes taken
            for { let i := 0 } and(lt(i, proofFlags.length), iszero(malformed)) { i := add(i, 1) } {
                // The queue holds the leaves and the i hashes made so far.
                let a := mload(add(queue, shl(5, q)))
                let b := calldataload(add(proof.offset, shl(5, used)))
                switch calldataload(add(proofFlags.offset, shl(5, i)))
                case 0 { used := add(used, 1) }
                case 1 {
                    b := mload(add(queue, shl(5, add(q, 1))))
                    q := add(q, 1)
                }
                default { malformed := 1 }
                q := add(q, 1)
                malformed := or(malformed, gt(q, add(atts.length, i)))
                switch gt(a, b)
                case 0 {
                    mstore(0x00, a)
                    mstore(0x20, b)
                }
                default {
                    mstore(0x00, b)
                    mstore(0x20, a)
                }
                mstore(add(queue, shl(5, add(atts.length, i))), keccak256(0x00, 0x40))
            }
            // Every hash of the proof taken, no more: a step that read past its end (other
            // calldata) is refused here.
            malformed := or(malformed, iszero(eq(used, proof.length)))
            // The last node made; with no step, the one leaf.
            root := mload(add(queue, shl(5, sub(add(atts.length, proofFlags.length), 1))))
        }
        if (unsorted != 0) revert LeavesNotSorted(unsorted - 1);
        if (malformed) revert MerkleProof.MerkleProofInvalidMultiproof();
    }

    /// Checks and writes each account of a verified batch or part, then emits `topic`,
    /// BatchAccepted or BatchPartAccepted (the same fields: a whole batch's accounts are its
    /// count, as _verifyBatch checked).
    /// @dev One log in assembly for both events, as two emits do not fit the size bound
    /// (EIP-170). The counts are below 2^32: calldata cannot hold 2^32 attestations.
    function _applyAndEmit(
        bytes32 topic,
        bytes32 feedId,
        Batch calldata b,
        Attestation[] calldata atts,
        BatchContext memory c
    ) private {
        uint64 sequence = b.sequence;
        uint256 refused = _applyBatch(feedId, sequence, atts, c);
        bytes32 root = b.accountsRoot;
        bytes32 d = c.digest;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, root)
            mstore(add(m, 0x20), atts.length)
            mstore(add(m, 0x40), refused)
            mstore(add(m, 0x60), d)
            log3(m, 0x80, topic, feedId, sequence)
        }
    }

    function _checkRoot(Batch calldata b, bytes32 root) private pure {
        if (root != b.accountsRoot) revert WrongRoot(b.accountsRoot, root);
    }

    /// Rebuilds the root exactly as OpenZeppelin's StandardMerkleTree.of(leaves, ["bytes32"])
    /// does (leaves sorted ascending, the tree as an array with leaf i at 2n - 2 - i and
    /// node k hashing the sorted pair of nodes 2k + 1 and 2k + 2), and refuses an account
    /// that appears twice (the format allows one leaf per account).
    /// @dev In assembly, as this loop is most of a batch's cost beyond storage. Each
    /// struct hash is taken over the attestation's calldata words as they are; each
    /// account's checks (_applyBatch) then hold every word to its type's range, and a word
    /// out of range refuses that account, as no signer could have signed it.
    /// Duplicates are found in a hash table in memory (open addressing, a power of two of
    /// at least 2n entries, each the index + 1 of an account's first attestation): a few
    /// dozen gas per account where transient storage costs 200.
    function _batchRoot(Attestation[] calldata atts) private pure returns (bytes32 root) {
        bytes32 typeHash = CustosEIP712.TYPEHASH;
        uint256 unsorted; // index + 1 of the first leaf not above the one before it
        uint256 duplicateAt; // index + 1 of an account's second attestation
        assembly ("memory-safe") {
            // The tree's 2n - 1 nodes, leaf i at 2n - 2 - i; then buf, TYPEHASH || the 9
            // fields hashed per account; then the table.
            let buf := add(mload(0x40), shl(5, sub(shl(1, atts.length), 1)))
            // The table's 2^bits entries (2^bits >= 2n) at buf + 0x140; an account's entry
            // is the top bits of a multiplicative (Fibonacci) hash of its id, which mixes
            // every bit of it. shift = 256 - bits.
            let shift := 255
            for {} lt(shl(sub(256, shift), 1), shl(1, atts.length)) {} { shift := sub(shift, 1) }
            // Memory past the free pointer may hold scratch data: the table starts zeroed.
            calldatacopy(add(buf, 0x140), calldatasize(), shl(5, shl(sub(256, shift), 1)))
            mstore(0x40, add(add(buf, 0x140), shl(5, shl(sub(256, shift), 1))))
            mstore(buf, typeHash)
            let prev := 0
            for { let i := 0 } lt(i, atts.length) { i := add(i, 1) } {
                let account := add(atts.offset, mul(i, 0x120)) // its offset, then its id
                calldatacopy(add(buf, 0x20), account, 0x120)
                account := calldataload(account)
                mstore(0x00, keccak256(buf, 0x140))
                mstore(0x00, keccak256(0x00, 0x20))
                mstore(0x00, keccak256(0x00, 0x20))
                if and(gt(i, 0), iszero(gt(mload(0x00), prev))) {
                    unsorted := add(i, 1)
                    break
                }
                prev := mload(0x00)
                mstore(sub(buf, shl(5, add(i, 1))), prev)
                for { let h := shr(shift, mul(account, 0x9e3779b97f4a7c15f39cc0605cedc8341082276bf3a27251f86c6a11d0c18e95)) } 1 {
                    h := and(add(h, 1), shr(shift, not(0)))
                } {
                    let entry := add(add(buf, 0x140), shl(5, h))
                    if iszero(mload(entry)) {
                        mstore(entry, add(i, 1))
                        break
                    }
                    if eq(calldataload(add(atts.offset, mul(sub(mload(entry), 1), 0x120))), account) {
                        duplicateAt := add(i, 1)
                        break
                    }
                }
                if duplicateAt { break }
            }
            if iszero(or(unsorted, duplicateAt)) {
                let tree := sub(buf, shl(5, sub(shl(1, atts.length), 1)))
                for { let k := sub(atts.length, 1) } k {} {
                    k := sub(k, 1)
                    let left := add(tree, shl(5, add(shl(1, k), 1)))
                    let a := mload(left)
                    let b := mload(add(left, 0x20))
                    if gt(a, b) {
                        let t := a
                        a := b
                        b := t
                    }
                    mstore(0x00, a)
                    mstore(0x20, b)
                    mstore(add(tree, shl(5, k)), keccak256(0x00, 0x40))
                }
                root := mload(tree)
            }
        }
        if (unsorted != 0) revert LeavesNotSorted(unsorted - 1);
        if (duplicateAt != 0) revert DuplicateAccount(atts[duplicateAt - 1].account);
    }

    /// The batch's own checks, cheap ones first: its feed, count (`given` accounts: all of
    /// them for a whole batch, 1 to all for a part), window (rule 3), a whole batch's
    /// sequence, its signatures (as submit's). The caller checks the root next.
    function _verifyBatch(bytes32 feedId, Batch calldata b, uint256 given, bytes calldata signatures, bool whole)
        private
        view
        returns (BatchContext memory c)
    {
        Feed memory policy = _feeds[feedId];
        if (policy.index == 0) revert UnknownFeed(feedId);
        if (b.feedId != feedId) revert BatchOfOtherFeed(b.feedId, feedId);
        if (given == 0 || given > b.count || (whole && given != b.count)) revert BatchCountMismatch(b.count, given);
        _checkTime(policy, b.asOf, b.validUntil);
        if (whole) {
            uint64 last = _batchSequences[feedId];
            if (b.sequence <= last) revert BatchReplay(last, b.sequence);
        }
        c.separator = _domainSeparator();
        c.digest = CustosEIP712.digest(c.separator, CustosEIP712.batchStructHash(b));
        c.weight = _checkSignatures(feedId, policy, KIND_VALUATION, c.digest, signatures);
        c.feedIndex = policy.index;
        c.maxSequenceStep = policy.maxSequenceStep;
        c.breakerRiseBps = policy.breakerRiseBps;
        c.breakerReleaseThreshold = policy.breakerReleaseThreshold;
        c.breakerQuiet = c.breakerRiseBps == 0 || c.weight >= c.breakerReleaseThreshold;
        c.asOf = b.asOf;
        c.validUntil = b.validUntil;
        unchecked {
            c.timeBits = (c.asOf << AS_OF_SHIFT) | ((c.validUntil - c.asOf) << TTL_SHIFT);
        }
    }

    /// Checks and writes each account, then the feed's pledged total once; returns how
    /// many accounts were refused.
    /// @dev Written for gas (docs/adapter.md §14). An account every check passes, the
    /// common case, is written by _writeClearRun. Any other account goes through
    /// _applyBatchAccount, the rules in order, which names the refusal (or writes the
    /// account, e.g. a rise the owner released): _writeClearRun only decides which path an
    /// account takes, never that one is refused.
    function _applyBatch(bytes32 feedId, uint64 sequence, Attestation[] calldata atts, BatchContext memory c)
        private
        returns (uint256 refused)
    {
        uint256 p;
        uint256 end;
        assembly ("memory-safe") {
            p := atts.offset
            end := add(p, mul(atts.length, 0x120)) // a static struct of 9 words each
        }
        while (true) {
            p = _writeClearRun(p, end, c);
            if (p == end) break;
            bytes memory why = _applyBatchAccount(p, c);
            if (why.length != 0) {
                bytes32 account;
                assembly ("memory-safe") {
                    account := calldataload(p)
                }
                emit AccountRefused(account, feedId, sequence, why);
                unchecked {
                    ++refused;
                }
            }
            unchecked {
                p += 0x120; // the next attestation: a static struct of 9 words
            }
        }
        if (c.pledgedDelta != 0) {
            // Values are below 2^128 each, so the total and the delta fit int256.
            _pledgedCollateral[feedId] = uint256(int256(_pledgedCollateral[feedId]) + c.pledgedDelta);
        }
    }

    /// Writes the accounts from calldata offset p on while every check passes for them,
    /// and returns the offset of the first one that needs the rules' path (end if none).
    /// The common case, in assembly (docs/adapter.md §14): one read of each slot, one
    /// write of the record, the binding only when it changes.
    function _writeClearRun(uint256 p, uint256 end, BatchContext memory c) private returns (uint256 at) {
        assembly ("memory-safe") {
            let delta := mload(add(c, CTX_PLEDGED_DELTA))
            for {} lt(p, end) { p := add(p, 0x120) } {
                // The two slots of the account, as Solidity lays out the mappings.
                mstore(0x00, calldataload(p))
                mstore(0x20, _bindings.slot)
                let bindingSlot := keccak256(0x00, 0x40)
                mstore(0x20, _records.slot)
                let recordSlot := keccak256(0x00, 0x40)
                let binding := sload(bindingSlot)
                let record := sload(recordSlot)
                // Rule 9 (registered to this feed); a valuation at the batch's time; value and
                // beneficiary words within their types' ranges.
                let ok := and(
                    and(eq(and(shr(160, binding), 0xffff), mload(add(c, CTX_FEED_INDEX))), iszero(calldataload(add(p, 0x40)))),
                    and(
                        eq(calldataload(add(p, 0xc0)), mload(add(c, CTX_AS_OF))),
                        eq(calldataload(add(p, 0xe0)), mload(add(c, CTX_VALID_UNTIL)))
                    )
                )
                ok := and(ok, iszero(or(shr(128, calldataload(add(p, 0x80))), shr(160, calldataload(add(p, 0x20))))))
                {
                    // Rules 4 and 12: a 64-bit sequence above the last one (any, before the
                    // first), by at most the step.
                    let seq := calldataload(add(p, 0x100))
                    let hasRecord := and(shr(184, binding), 1)
                    let last := mul(hasRecord, and(shr(128, record), 0xffffffffffffffff))
                    ok := and(ok, and(iszero(shr(64, seq)), or(gt(seq, last), iszero(hasRecord))))
                    ok := and(ok, iszero(gt(sub(seq, last), mload(add(c, CTX_MAX_STEP)))))
                }
                let beneficiary := calldataload(add(p, 0x20))
                let value := calldataload(add(p, 0x80))
                let current := and(binding, 0xffffffffffffffffffffffffffffffffffffffff)
                let base := and(record, 0xffffffffffffffffffffffffffffffff)
                // Rule 5: one lender at a time.
                ok := and(ok, or(iszero(current), eq(current, beneficiary)))
                if iszero(mload(add(c, CTX_BREAKER_QUIET))) {
                    // Rule 6: no rise over a valuation beyond the bound, value - base >
                    // floor(base * bps / 10000), i.e. (value - base) * 10000 > base * bps: exact
                    // on 256 bits, as both values are below 2^128 (checked above) and bps below
                    // 2^20. A held rise takes the rules' path (the owner may have released it).
                    let held := and(
                        gt(value, base),
                        gt(mul(sub(value, base), 10000), mul(base, mload(add(c, CTX_BREAKER_RISE_BPS))))
                    )
                    ok := and(ok, iszero(and(held, and(shr(185, binding), 1))))
                }
                if iszero(ok) { break }
                {
                    // What the account counted (a pledged valuation's value: a record of kind 0
                    // with a beneficiary, as _counted) is replaced by its new pledged value. In
                    // two's complement: the sum of such changes is within int256.
                    let counted := and(and(shr(184, binding), 1), iszero(and(shr(176, binding), 0xff)))
                    counted := mul(base, and(counted, iszero(iszero(current))))
                    delta := add(delta, sub(mul(value, iszero(iszero(beneficiary))), counted))
                    sstore(recordSlot, or(or(value, shl(128, calldataload(add(p, 0x100)))), mload(add(c, CTX_TIME_BITS))))
                    // The beneficiary, the feed index kept (bits 160-175), kind 0, HAS_RECORD and
                    // HAS_VALUATION (bits 184, 185).
                    let next := or(or(beneficiary, and(binding, shl(160, 0xffff))), shl(184, 3))
                    if iszero(eq(next, binding)) { sstore(bindingSlot, next) }
                }
            }
            mstore(add(c, CTX_PLEDGED_DELTA), delta)
            at := p
        }
    }

    /// The checks of submit for a valuation, past those of the batch; returns the error
    /// that refuses the account, or nothing once it is written. The attestation's words
    /// are read from calldata at `p` as they are, every one checked against its type's
    /// range (a word out of range refuses the account, as no signer can sign it).
    /// @dev The path of the accounts _applyBatch's common case does not take: refusals,
    /// and rises the breaker holds unless the owner released them.
    function _applyBatchAccount(uint256 p, BatchContext memory c) private returns (bytes memory why) {
        bytes32 account;
        uint256 bindingSlot;
        uint256 recordSlot;
        uint256 binding;
        assembly ("memory-safe") {
            account := calldataload(p)
            // The two slots of the account, as Solidity lays out the mappings, addressed once.
            mstore(0x00, account)
            mstore(0x20, _bindings.slot)
            bindingSlot := keccak256(0x00, 0x40)
            mstore(0x20, _records.slot)
            recordSlot := keccak256(0x00, 0x40)
            binding := sload(bindingSlot)
        }
        if (uint16(binding >> FEED_INDEX_SHIFT) != c.feedIndex) return _bindingError(binding, c.feedIndex, account);
        {
            uint256 kind;
            uint256 asOf;
            uint256 validUntil;
            assembly ("memory-safe") {
                kind := calldataload(add(p, 0x40))
                asOf := calldataload(add(p, 0xc0))
                validUntil := calldataload(add(p, 0xe0))
            }
            if (kind != KIND_VALUATION) return abi.encodeWithSelector(KindNotInBatch.selector, kind);
            // The batch's window is within range (rule 3 checked it), so equal words are too.
            if (asOf != c.asOf || validUntil != c.validUntil) {
                return abi.encodeWithSelector(NotBatchTime.selector, asOf, validUntil);
            }
        }
        uint256 value;
        uint256 beneficiary;
        uint256 sequence;
        assembly ("memory-safe") {
            beneficiary := calldataload(add(p, 0x20))
            value := calldataload(add(p, 0x80))
            sequence := calldataload(add(p, 0x100))
        }
        if (value > MAX_VALUE) return abi.encodeWithSelector(ValueOutOfRange.selector, value);
        if (beneficiary > type(uint160).max) return abi.encodeWithSelector(InvalidBeneficiary.selector);
        uint256 record;
        assembly ("memory-safe") {
            record := sload(recordSlot)
        }
        if (sequence > type(uint64).max) {
            // A word above 64 bits is a step beyond any bound (rule 12), whatever the last.
            uint256 was = binding & HAS_RECORD == 0 ? 0 : uint64(record >> SEQUENCE_SHIFT);
            return abi.encodeWithSelector(SequenceJump.selector, was, sequence, c.maxSequenceStep);
        }
        {
            // The common case inline (a record, a bounded step up); any other goes through
            // the rules' own function, which names the refusal.
            uint256 last = uint64(record >> SEQUENCE_SHIFT);
            if (binding & HAS_RECORD == 0 || sequence <= last || sequence - last > c.maxSequenceStep) {
                why = _sequenceError(binding, record, c.maxSequenceStep, sequence);
                if (why.length != 0) return why;
            }
        }
        {
            // Rule 5: one lender at a time.
            address current = address(uint160(binding));
            if (current != address(0) && uint256(uint160(current)) != beneficiary) {
                return abi.encodeWithSelector(PledgedElsewhere.selector, current);
            }
        }
        if (c.breakerRiseBps != 0) {
            why = _batchBreakerError(p, c, binding, record, value);
            if (why.length != 0) return why;
        }
        {
            // The pledged total moves once per batch (_applyBatch): here the account's
            // change, its new value (pledged: beneficiary set) less what _counted counted
            // (a pledged valuation's value: HAS_RECORD bit 184, kind 0, a beneficiary).
            int256 delta;
            assembly ("memory-safe") {
                let counted := and(
                    and(iszero(iszero(and(binding, shl(184, 1)))), iszero(and(shr(176, binding), 0xff))),
                    iszero(iszero(and(binding, 0xffffffffffffffffffffffffffffffffffffffff)))
                )
                delta := sub(
                    mul(value, iszero(iszero(beneficiary))),
                    mul(and(record, 0xffffffffffffffffffffffffffffffff), counted)
                )
            }
            c.pledgedDelta += delta;
        }
        record = value | (sequence << SEQUENCE_SHIFT) | c.timeBits;
        uint256 next = beneficiary | (binding & FEED_INDEX_MASK) | HAS_RECORD | HAS_VALUATION;
        assembly ("memory-safe") {
            sstore(recordSlot, record)
            if iszero(eq(next, binding)) { sstore(bindingSlot, next) }
        }
    }

    /// Rule 6 for an account of a batch: the breaker holds a rise unless the batch's
    /// weight reaches the release threshold or the owner released the account's own
    /// attestation digest (releaseHeld, as for a single submit).
    function _batchBreakerError(uint256 p, BatchContext memory c, uint256 binding, uint256 record, uint256 value)
        private
        view
        returns (bytes memory why)
    {
        if (c.breakerRiseBps == 0 || c.weight >= c.breakerReleaseThreshold || binding & HAS_VALUATION == 0) return why;
        if (!_beyondBreaker(uint128(record), value, c.breakerRiseBps)) return why;
        bytes32 account;
        assembly ("memory-safe") {
            account := calldataload(p)
        }
        if (_releasedHeld[account] != CustosEIP712.digest(c.separator, _structHashAt(p))) {
            return abi.encodeWithSelector(BreakerHeld.selector, uint128(record), value, c.weight, c.breakerReleaseThreshold);
        }
    }

    /// The CollateralAttestation struct hash of the attestation at calldata offset p.
    function _structHashAt(uint256 p) private pure returns (bytes32 h) {
        bytes32 typeHash = CustosEIP712.TYPEHASH;
        assembly ("memory-safe") {
            let buf := mload(0x40)
            mstore(buf, typeHash)
            calldatacopy(add(buf, 0x20), p, 0x120)
            h := keccak256(buf, 0x140)
        }
    }

    /// Writes an accepted attestation: the record always, the binding only when it
    /// changes (a first record, a new beneficiary, a new kind). Only a valuation sets the
    /// value, so that a freeze or a release keeps the breaker's base.
    function _write(Attestation calldata att, uint256 binding, uint256 record, address beneficiary) private {
        uint8 kind = att.kind;
        uint256 value = kind == KIND_VALUATION ? att.collateralValue : uint128(record);
        uint64 asOf = att.asOf;
        unchecked {
            _records[att.account] = value | (uint256(att.sequence) << SEQUENCE_SHIFT) | (uint256(asOf) << AS_OF_SHIFT)
                | (uint256(att.validUntil - asOf) << TTL_SHIFT);
        }
        uint256 next = uint256(uint160(beneficiary)) | (binding & (FEED_INDEX_MASK | HAS_VALUATION))
            | (uint256(kind) << KIND_SHIFT) | HAS_RECORD | (kind == KIND_VALUATION ? HAS_VALUATION : 0);
        if (next != binding) _bindings[att.account] = next;
    }

    /// The value an account counts in its feed's pledged total (docs/adapter.md §13): its
    /// latest valuation's while it is pledged, else nothing.
    function _counted(uint256 binding, uint256 record) private pure returns (uint256) {
        bool pledgedValuation = binding & HAS_RECORD != 0 && uint8(binding >> KIND_SHIFT) == KIND_VALUATION
            && address(uint160(binding)) != address(0);
        return pledgedValuation ? uint128(record) : 0;
    }

    /// The feed's pledged total, the account's counted value replaced: before it is written,
    /// binding and record still hold what was counted.
    function _recountPledged(
        bytes32 feedId,
        uint256 binding,
        uint256 record,
        uint8 kind,
        address beneficiary,
        uint256 value
    ) private {
        uint256 was = _counted(binding, record);
        uint256 now_ = kind == KIND_VALUATION && beneficiary != address(0) ? value : 0;
        if (was != now_) _pledgedCollateral[feedId] = _pledgedCollateral[feedId] - was + now_;
    }

    /// Rule 9: the account is registered, to this feed. Nothing (no allocation) when it is.
    function _bindingError(uint256 binding, uint16 feedIndex, bytes32 account)
        private
        view
        returns (bytes memory why)
    {
        uint16 bound = uint16(binding >> FEED_INDEX_SHIFT);
        if (bound == feedIndex) return why;
        if (bound == 0) return abi.encodeWithSelector(UnknownAccount.selector, account);
        return abi.encodeWithSelector(AccountOfOtherFeed.selector, account, _feedIds[bound]);
    }

    /// Rules 4 and 12: strictly above the last sequence, by a bounded step (the first one at
    /// most the step), so that no key can push an account's sequence out of reach.
    function _sequenceError(uint256 binding, uint256 record, uint32 maxStep, uint256 sequence)
        private
        pure
        returns (bytes memory why)
    {
        bool hasRecord = binding & HAS_RECORD != 0;
        uint256 last = hasRecord ? uint64(record >> SEQUENCE_SHIFT) : 0;
        if (hasRecord && sequence <= last) return abi.encodeWithSelector(Replay.selector, last, sequence);
        unchecked {
            if (sequence - last > maxStep) {
                return abi.encodeWithSelector(SequenceJump.selector, last, sequence, maxStep);
            }
        }
    }

    /// Rule 6: whether a valuation rises beyond the feed's bound over the account's latest
    /// valuation without the release threshold's weight (the caller then looks for the
    /// owner's releaseHeld of its digest). The base is a valuation's value only: a freeze
    /// or a release keeps it, what they carry never becomes one.
    function _held(Feed memory policy, uint256 binding, uint256 record, uint256 value, uint256 weight)
        private
        pure
        returns (bool)
    {
        if (policy.breakerRiseBps == 0 || weight >= policy.breakerReleaseThreshold || binding & HAS_VALUATION == 0) {
            return false;
        }
        return _beyondBreaker(uint128(record), value, policy.breakerRiseBps);
    }

    function _revertIf(bytes memory why) private pure {
        if (why.length != 0) {
            assembly ("memory-safe") {
                revert(add(why, 0x20), mload(why))
            }
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
        // The second bound keeps asOf within the record's 40 bits whatever the clock says.
        if (uint256(asOf) > nowTs + policy.maxSkew || asOf > type(uint40).max) revert FromFuture(asOf, nowTs);
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

    /// @notice The EIP-712 digest the signers sign for a batch on this chain and adapter.
    function batchDigest(Batch calldata b) external view returns (bytes32) {
        return CustosEIP712.digest(_domainSeparator(), CustosEIP712.batchStructHash(b));
    }

    /// @notice The sequence of the feed's latest accepted batch (0 before the first).
    function batchSequence(bytes32 feedId) external view returns (uint64) {
        return _batchSequences[feedId];
    }

    /// @notice The latest accepted attestation of an account (as stored: the collateral
    /// value is 0 after a release or a freeze), whatever its age.
    function latest(bytes32 account) external view returns (StoredAttestation memory out) {
        uint256 binding = _bindings[account];
        if (binding & HAS_RECORD == 0) revert NoAttestation(account);
        uint256 record = _records[account];
        uint8 kind = uint8(binding >> KIND_SHIFT);
        (uint64 asOf, uint64 validUntil) = _window(record);
        out = StoredAttestation({
            feedId: _feedIds[uint16(binding >> FEED_INDEX_SHIFT)],
            beneficiary: address(uint160(binding)),
            kind: kind,
            collateralValue: kind == KIND_VALUATION ? uint128(record) : 0,
            asOf: asOf,
            validUntil: validUntil,
            sequence: uint64(record >> SEQUENCE_SHIFT)
        });
    }

    /// @notice The collateral value a lender may count now (USD, 18 decimals); reverts
    /// NoAttestation, Frozen, Expired or Stale when there is none. 0 after a release.
    function collateralValue(bytes32 account) public view returns (uint256) {
        uint256 binding = _bindings[account];
        if (binding & HAS_RECORD == 0) revert NoAttestation(account);
        uint256 record = _records[account];
        uint8 kind = uint8(binding >> KIND_SHIFT);
        if (kind == KIND_FREEZE) revert Frozen(account, uint64(record >> SEQUENCE_SHIFT));
        (uint64 asOf, uint64 validUntil) = _window(record);
        if (validUntil <= block.timestamp) revert Expired(validUntil, block.timestamp);
        uint32 maxAge = _feeds[_feedIds[uint16(binding >> FEED_INDEX_SHIFT)]].maxAge;
        if (block.timestamp > uint256(asOf) + maxAge) revert Stale(asOf, block.timestamp);
        return kind == KIND_VALUATION ? uint128(record) : 0;
    }

    /// @notice Like collateralValue(account), and PledgedElsewhere unless the account is
    /// pledged to `beneficiary`.
    function collateralValueFor(bytes32 account, address beneficiary) external view returns (uint256) {
        uint256 v = collateralValue(account);
        address current = address(uint160(_bindings[account]));
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
        uint256 binding = _bindings[account];
        if (binding & HAS_RECORD == 0) return (0, 0, 0);
        uint256 record = _records[account];
        sequence = uint64(record >> SEQUENCE_SHIFT);
        (uint64 signedAsOf, uint64 validUntil) = _window(record);
        asOf = signedAsOf > block.timestamp ? uint64(block.timestamp) : signedAsOf;
        uint32 maxAge = _feeds[_feedIds[uint16(binding >> FEED_INDEX_SHIFT)]].maxAge;
        if (
            uint8(binding >> KIND_SHIFT) == KIND_VALUATION && address(uint160(binding)) == beneficiary
                && validUntil > block.timestamp && block.timestamp <= uint256(signedAsOf) + maxAge
        ) {
            answer = uint128(record);
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
        has = _bindings[account] & HAS_VALUATION != 0;
        return (has, has ? uint128(_records[account]) : 0, _releasedHeld[account]);
    }

    /// @notice The sum of the feed's pledged accounts' latest valuations (docs/adapter.md §13).
    function pledgedCollateral(bytes32 feedId) external view returns (uint256) {
        uint256 t = _pledgedCollateral[feedId];
        return t == 0 ? 0 : t - 1;
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
        return _feedIds[uint16(_bindings[account] >> FEED_INDEX_SHIFT)];
    }

    function accountFeed(bytes32 account, address beneficiary) external view returns (address) {
        return _accountFeeds[account][beneficiary];
    }

    // ================================================================== Chainlink feeds

    /// @notice Deploys the AggregatorV3Interface feed of `account` as seen by the lending
    /// market `beneficiary` (anyone may: a feed only reads). Deterministic (CREATE2).
    function createAccountFeed(bytes32 account, address beneficiary) external returns (address f) {
        if (beneficiary == address(0)) revert InvalidBeneficiary();
        if (_bindings[account] & FEED_INDEX_MASK == 0) revert UnknownAccount(account);
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
        if (threshold == 0 || maxAge == 0 || maxTtl == 0 || maxTtl > MAX_TTL || (distinctRoles && threshold > 4)) {
            revert InvalidPolicy();
        }
        Feed storage f = _feeds[feedId];
        if (f.index == 0) {
            if (_feedCount == type(uint16).max) revert TooManyFeeds();
            uint16 idx = ++_feedCount;
            f.index = idx;
            f.maxSequenceStep = DEFAULT_MAX_SEQUENCE_STEP;
            _feedIds[idx] = feedId;
            _pledgedCollateral[feedId] = 1;
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
        if (_bindings[account] & FEED_INDEX_MASK == 0) revert UnknownAccount(account);
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
        uint256 binding = _bindings[account];
        uint16 bound = uint16(binding >> FEED_INDEX_SHIFT);
        if (bound != 0) revert AccountAlreadyRegistered(account, _feedIds[bound]);
        _bindings[account] = binding | (uint256(f.index) << FEED_INDEX_SHIFT);
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

    /// asOf and validUntil of a record word.
    function _window(uint256 record) private pure returns (uint64 asOf, uint64 validUntil) {
        asOf = uint40(record >> AS_OF_SHIFT);
        unchecked {
            validUntil = asOf + uint24(record >> TTL_SHIFT);
        }
    }

    function _domainSeparator() private view returns (bytes32) {
        if (block.chainid == _cachedChainId && address(this) == _cachedThis) return _cachedDomainSeparator;
        return CustosEIP712.domainSeparator(block.chainid, address(this));
    }
}
