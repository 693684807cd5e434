// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IOracle} from "@morpho-org/morpho-blue/src/interfaces/IOracle.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";

import {ICustosPledgeValue} from "./ICustosPledgeValue.sol";

/// @title CustosMorphoOracle
/// @notice Morpho Blue IOracle of one pledge's receipt. price() is the loan-token amount
/// one receipt unit is worth, scaled by 1e36: with the account's value V (USD, 18
/// decimals) and a loan token of d decimals taken at par with the US dollar,
/// 1e18 receipt units are worth V / 1e18 dollars = V * 10^d / 1e18 loan units, so
/// price = V * 10^d exactly. It is 0 whenever the value may not be counted (stale,
/// expired, frozen, released, pledged elsewhere, pledge ended). Deployed through CustosPledgeFactory
/// for CustosPledges.
contract CustosMorphoOracle is IOracle {
    /// Morpho's price scale exponent; loan tokens with more decimals are not supported.
    uint8 public constant MAX_LOAN_DECIMALS = 36;
    /// The largest price Morpho can use without overflowing: it multiplies the price by a
    /// collateral amount of at most the receipt's supply (1e18 units).
    uint256 public constant MAX_PRICE = type(uint256).max / 1e18;

    ICustosPledgeValue public immutable pledges;
    bytes32 public immutable account;
    address public immutable beneficiary;
    address public immutable receipt;
    address public immutable loanToken;
    uint8 public immutable loanDecimals;
    /// 10^loanDecimals
    uint256 public immutable scale;

    error UnreadableDecimals(address loanToken);
    error UnsupportedDecimals(address loanToken, uint256 decimals);
    error ValueTooLarge(uint256 value, uint256 max);

    constructor(
        ICustosPledgeValue pledges_,
        bytes32 account_,
        address beneficiary_,
        address receipt_,
        address loanToken_
    ) {
        // A low-level call: an address without code or without decimals() must give our
        // error, which a try/catch would not (it cannot catch a failed decoding).
        (bool ok, bytes memory ret) = loanToken_.staticcall(abi.encodeCall(IERC20Metadata.decimals, ()));
        if (!ok || ret.length != 32) revert UnreadableDecimals(loanToken_);
        uint256 d = abi.decode(ret, (uint256));
        if (d > MAX_LOAN_DECIMALS) revert UnsupportedDecimals(loanToken_, d);
        pledges = pledges_;
        account = account_;
        beneficiary = beneficiary_;
        receipt = receipt_;
        loanToken = loanToken_;
        loanDecimals = uint8(d);
        scale = 10 ** d;
    }

    /// @notice The price Morpho counts, 0 when the value may not be counted.
    /// @dev Reverts ValueTooLarge rather than answering 0 above MAX_PRICE: Morpho would
    /// overflow, and a 0 would make the position liquidatable for nothing.
    function price() external view returns (uint256) {
        (, uint256 v,) = pledges.receiptValue(account, beneficiary, receipt);
        uint256 max = MAX_PRICE / scale;
        if (v > max) revert ValueTooLarge(v, max);
        return v * scale;
    }
}
