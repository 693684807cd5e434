// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @notice What a pledge's receipt and oracles ask of CustosPledges.
interface ICustosPledgeValue {
    /// @return sequence the account's latest attestation sequence (0: none)
    /// @return value the collateral value (USD, 18 decimals) the pledge's market may count
    /// now: 0 unless `receipt` is the live receipt of the pledge (account, beneficiary) and
    /// the adapter's account round for that beneficiary answers a value (not stale, expired,
    /// frozen, released or pledged elsewhere)
    /// @return asOf when the value was observed (the real asOf even when value is 0)
    function receiptValue(bytes32 account, address beneficiary, address receipt)
        external
        view
        returns (uint64 sequence, uint256 value, uint64 asOf);
}
