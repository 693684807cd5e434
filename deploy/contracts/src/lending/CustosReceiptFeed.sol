// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";

import {ICustosPledgeValue} from "./ICustosPledgeValue.sol";

/// @title CustosReceiptFeed
/// @notice 8-decimal AggregatorV3Interface price source of one pledge's receipt, in the
/// form Aave v3's AaveOracle and SparkLend read (latestAnswer): the USD value of one whole
/// receipt token, i.e. of the whole account, with 8 decimals (the 18-decimal value floored
/// to 8). The answer is 0 whenever the value may not be counted; roundId = answeredInRound
/// = attestation sequence, startedAt = updatedAt = asOf. Deployed through CustosPledgeFactory
/// for CustosPledges.
contract CustosReceiptFeed is AggregatorV3Interface {
    uint256 private constant TO_8_DECIMALS = 1e10;

    ICustosPledgeValue public immutable pledges;
    bytes32 public immutable account;
    address public immutable beneficiary;
    address public immutable receipt;

    error NoRoundData(uint80 roundId);

    constructor(ICustosPledgeValue pledges_, bytes32 account_, address beneficiary_, address receipt_) {
        pledges = pledges_;
        account = account_;
        beneficiary = beneficiary_;
        receipt = receipt_;
    }

    function decimals() external pure returns (uint8) {
        return 8;
    }

    function description() external view returns (string memory) {
        return string.concat("Custos receipt ", Strings.toHexString(uint256(account), 32), " / USD");
    }

    function version() external pure returns (uint256) {
        return 1;
    }

    function latestRoundData()
        public
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        (uint64 seq, uint256 value, uint64 asOf) = pledges.receiptValue(account, beneficiary, receipt);
        // The adapter refuses values above type(int256).max, so the cast is exact.
        return (uint80(seq), int256(value / TO_8_DECIMALS), asOf, asOf, uint80(seq));
    }

    function getRoundData(uint80 roundId_)
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        (roundId, answer, startedAt, updatedAt, answeredInRound) = latestRoundData();
        if (roundId_ != roundId || updatedAt == 0) revert NoRoundData(roundId_);
    }

    /// @notice The reads of Chainlink's older AggregatorInterface; AaveOracle uses latestAnswer.
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
