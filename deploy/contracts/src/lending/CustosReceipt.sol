// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";

import {ICustosPledgeValue} from "./ICustosPledgeValue.sol";

/// @title CustosReceipt
/// @notice The collateral receipt of one pledge (account, market): an ERC-20 whose fixed
/// supply of one whole token stands for the whole pledged custody account. Minted to the
/// borrower when the pledge is made; it moves only among the borrower, the market that
/// holds it as collateral and the custodian's liquidation agent, so that a permissionless
/// liquidator can never take off-chain collateral. Deployed through CustosPledgeFactory
/// for CustosPledges.
contract CustosReceipt is ERC20 {
    /// One whole token (18 decimals) is the whole account.
    uint256 public constant SUPPLY = 1e18;

    ICustosPledgeValue public immutable pledges;
    bytes32 public immutable account;
    /// The lending market holding the receipt as collateral (the pledge's beneficiary).
    address public immutable market;
    address public immutable borrower;
    /// The custodian's liquidation agent.
    address public immutable agent;

    /// Receipts left the market during this transaction (a withdrawal, a flash loan, a
    /// seizure): CustosPledges then cannot trust the market's balance as it stands.
    bool private transient _leftMarket;

    error TransferRestricted(address from, address to);
    error SeizureWithoutValue(bytes32 account, address market);

    constructor(ICustosPledgeValue pledges_, bytes32 account_, address market_, address borrower_, address agent_)
        ERC20("", "")
    {
        pledges = pledges_;
        account = account_;
        market = market_;
        borrower = borrower_;
        agent = agent_;
        _mint(borrower_, SUPPLY);
    }

    function name() public view override returns (string memory) {
        return string.concat("Custos receipt ", Strings.toHexString(uint256(account), 32));
    }

    function symbol() public pure override returns (string memory) {
        return "CUSTOS-R";
    }

    /// @dev Every movement after the mint, zero amounts included, is checked: both ends
    /// must be pledge parties. Market to agent is a seizure (a liquidation into the
    /// agent): it needs a countable value, because Morpho's liquidate at a price of 0
    /// would hand over collateral for nothing repaid and write the debt off as bad debt.
    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0)) {
            if (!_isParty(from) || !_isParty(to)) revert TransferRestricted(from, to);
            if (from == market) {
                _leftMarket = true;
                if (to == agent) {
                    (, uint256 v,) = pledges.receiptValue(account, market, address(this));
                    if (v == 0) revert SeizureWithoutValue(account, market);
                }
            }
        }
        super._update(from, to, value);
    }

    /// @notice Whether receipts left the market earlier in the current transaction.
    function leftMarketThisTransaction() external view returns (bool) {
        return _leftMarket;
    }

    function _isParty(address a) private view returns (bool) {
        return a == borrower || a == market || a == agent;
    }
}
