// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @notice What the adapter asks before a release takes effect (rule 11).
interface ICustosReleaseGuard {
    /// @notice Called by the adapter for every accepted release, after all its own checks;
    /// reverts when the release must not end the pledge (exposure without the lender's
    /// consent), else records that the pledge has ended.
    function onRelease(bytes32 account, address beneficiary, uint64 sequence) external;
}
