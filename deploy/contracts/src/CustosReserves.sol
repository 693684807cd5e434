// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @notice What CustosReserves reads of the adapter: its EIP-712 domain, its quorum check
/// and its per-feed pledged total.
interface ICustosReservesSource {
    function domainSeparator() external view returns (bytes32);
    function checkQuorum(bytes32 feedId, bytes32 digest, bytes calldata signatures) external view returns (uint256);
    function pledgedCollateral(bytes32 feedId) external view returns (uint256);
    function accountFeedId(bytes32 account) external view returns (bytes32);
    function collateralValueFor(bytes32 account, address beneficiary) external view returns (uint256);
}

/// @title CustosReserves
/// @notice Each feed's latest reserves attestation (docs/attestation.md §15, §16), accepted
/// only with the feed's quorum as the adapter checks it, and the on-chain check that the
/// collateral lenders count on the adapter does not exceed the attested reserves
/// (docs/adapter.md §13): reservesOk fails closed, and collateralValueFor answers only while
/// it holds.
/// @dev Anyone may publish: only what the feed's quorum signed is accepted.
contract CustosReserves {
    bytes32 public constant TYPEHASH = keccak256(
        "ReservesAttestation(bytes32 feedId,uint256 totalCollateral,uint64 accounts,bytes32 sumRoot,uint64 asOf,uint64 sequence)"
    );

    /// A feed's latest reserves; two storage slots.
    struct Reserves {
        uint256 totalCollateral; // USD, 18 decimals: the sum tree's root sum
        bytes32 sumRoot;
        uint64 accounts;
        uint64 asOf;
        uint64 sequence;
    }

    ICustosReservesSource public immutable adapter;
    /// Seconds after its asOf a reserves attestation still backs the feed's pledged total.
    uint64 public immutable maxAge;
    /// Seconds an asOf may lie ahead of the block's clock.
    uint64 public immutable maxSkew;

    mapping(bytes32 feedId => Reserves) private _reserves;

    event ReservesPublished(
        bytes32 indexed feedId, uint64 indexed sequence, uint256 totalCollateral, bytes32 sumRoot, uint64 accounts, uint64 asOf
    );

    error InvalidConfig();
    error ReservesReplay(uint64 last, uint64 got);
    error ReservesFromFuture(uint64 asOf, uint256 now);
    error ReservesStale(uint64 asOf, uint256 now);
    error NoReserves(bytes32 feedId);
    error ReservesExceeded(bytes32 feedId, uint256 pledged, uint256 attested);
    error EmptyReserves();

    constructor(ICustosReservesSource adapter_, uint64 maxAge_, uint64 maxSkew_) {
        if (address(adapter_) == address(0) || maxAge_ == 0) revert InvalidConfig();
        adapter = adapter_;
        maxAge = maxAge_;
        maxSkew = maxSkew_;
    }

    /// @notice The EIP-712 digest the feed's signers sign, on the adapter's domain.
    function digest(bytes32 feedId, uint256 totalCollateral, uint64 accounts, bytes32 sumRoot, uint64 asOf, uint64 sequence)
        public
        view
        returns (bytes32)
    {
        bytes32 structHash = keccak256(abi.encode(TYPEHASH, feedId, totalCollateral, accounts, sumRoot, asOf, sequence));
        return keccak256(abi.encodePacked(hex"1901", adapter.domainSeparator(), structHash));
    }

    /// @notice Stores a feed's reserves attestation. `signatures` as for the adapter's submit:
    /// packed 65-byte r || s || v, by strictly increasing signer address, making the feed's
    /// quorum (the adapter's errors: BelowThreshold, UnknownSigner, ...). The sequence must
    /// rise; asOf may not lie more than maxSkew ahead nor be older than maxAge.
    function publish(
        bytes32 feedId,
        uint256 totalCollateral,
        uint64 accounts,
        bytes32 sumRoot,
        uint64 asOf,
        uint64 sequence,
        bytes calldata signatures
    ) external {
        if (accounts == 0) revert EmptyReserves();
        Reserves storage r = _reserves[feedId];
        uint64 last = r.sequence;
        if (sequence <= last) revert ReservesReplay(last, sequence);
        if (uint256(asOf) > block.timestamp + maxSkew) revert ReservesFromFuture(asOf, block.timestamp);
        if (block.timestamp > uint256(asOf) + maxAge) revert ReservesStale(asOf, block.timestamp);
        adapter.checkQuorum(feedId, digest(feedId, totalCollateral, accounts, sumRoot, asOf, sequence), signatures);
        r.totalCollateral = totalCollateral;
        r.sumRoot = sumRoot;
        r.accounts = accounts;
        r.asOf = asOf;
        r.sequence = sequence;
        emit ReservesPublished(feedId, sequence, totalCollateral, sumRoot, accounts, asOf);
    }

    /// @notice The feed's latest reserves (sequence 0: none yet).
    function reserves(bytes32 feedId) external view returns (Reserves memory) {
        return _reserves[feedId];
    }

    /// @notice Whether the feed's pledged collateral on the adapter is backed now: reserves
    /// were published, are at most maxAge old, and their total is at least the adapter's
    /// pledged total. False otherwise: a lender that consults it fails closed.
    function reservesOk(bytes32 feedId) public view returns (bool) {
        Reserves storage r = _reserves[feedId];
        uint64 asOf = r.asOf;
        if (r.sequence == 0 || block.timestamp > uint256(asOf) + maxAge) return false;
        return adapter.pledgedCollateral(feedId) <= r.totalCollateral;
    }

    /// @notice The adapter's collateralValueFor(account, beneficiary), only while the
    /// account's feed is backed by its reserves; reverts NoReserves, ReservesStale or
    /// ReservesExceeded otherwise, as well as the adapter's own reverts.
    function collateralValueFor(bytes32 account, address beneficiary) external view returns (uint256) {
        bytes32 feedId = adapter.accountFeedId(account);
        Reserves storage r = _reserves[feedId];
        if (r.sequence == 0) revert NoReserves(feedId);
        if (block.timestamp > uint256(r.asOf) + maxAge) revert ReservesStale(r.asOf, block.timestamp);
        uint256 pledged = adapter.pledgedCollateral(feedId);
        if (pledged > r.totalCollateral) revert ReservesExceeded(feedId, pledged, r.totalCollateral);
        return adapter.collateralValueFor(account, beneficiary);
    }
}
