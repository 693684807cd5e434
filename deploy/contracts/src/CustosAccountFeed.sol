// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";

interface ICustosAdapterRounds {
    function accountRound(bytes32 account, address beneficiary)
        external
        view
        returns (uint64 sequence, uint256 answer, uint64 asOf);
}

/// @title CustosAccountFeed
/// @notice Chainlink AggregatorV3Interface view of one Custos account's collateral value,
/// as counted by one lending market (the beneficiary). Deployed by CustosAdapter.createAccountFeed.
/// roundId = answeredInRound = attestation sequence, answer = collateral value (USD, 18
/// decimals; 0 while the account is not usable by this beneficiary: pledged elsewhere,
/// released, frozen, expired or stale), startedAt = updatedAt = asOf.
/// Only the latest round is kept: getRoundData of any other round reverts.
contract CustosAccountFeed is AggregatorV3Interface {
    ICustosAdapterRounds public immutable adapter;
    bytes32 public immutable account;
    address public immutable beneficiary;

    error NoRoundData(uint80 roundId);

    constructor(bytes32 account_, address beneficiary_) {
        adapter = ICustosAdapterRounds(msg.sender);
        account = account_;
        beneficiary = beneficiary_;
    }

    function decimals() external pure returns (uint8) {
        return 18;
    }

    function description() external view returns (string memory) {
        return string.concat("Custos collateral ", Strings.toHexString(uint256(account), 32), " / USD");
    }

    function version() external pure returns (uint256) {
        return 1;
    }

    function latestRoundData()
        public
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        (uint64 seq, uint256 value, uint64 asOf) = adapter.accountRound(account, beneficiary);
        // The adapter refuses values above type(int256).max, so the cast is exact.
        return (uint80(seq), int256(value), asOf, asOf, uint80(seq));
    }

    function getRoundData(uint80 roundId_)
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        (roundId, answer, startedAt, updatedAt, answeredInRound) = latestRoundData();
        if (roundId_ != roundId || updatedAt == 0) revert NoRoundData(roundId_);
    }

    /// @notice Chainlink's older AggregatorInterface reads, used by Aave-style oracles.
    function latestAnswer() external view returns (int256 answer) {
        (, answer,,,) = latestRoundData();
    }

    function latestTimestamp() external view returns (uint256 updatedAt) {
        (,,, updatedAt,) = latestRoundData();
    }

    function latestRound() external view returns (uint256 roundId) {
        (roundId,,,,) = latestRoundData();
    }
}
