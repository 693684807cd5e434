// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ICustosPledgeValue} from "./ICustosPledgeValue.sol";
import {CustosReceipt} from "./CustosReceipt.sol";
import {CustosMorphoOracle} from "./CustosMorphoOracle.sol";
import {CustosReceiptFeed} from "./CustosReceiptFeed.sol";

/// @title CustosPledgeFactory
/// @notice Deploys a pledge's receipt and price contracts for CustosPledges, which keeps
/// their creation code out of its own (EIP-170 code size limit). Anyone may call it: what
/// it deploys is worth nothing until CustosPledges records it as a pledge's, since every
/// value they report comes from CustosPledges.receiptValue, which checks the receipt.
contract CustosPledgeFactory {
    function deployReceipt(ICustosPledgeValue pledges, bytes32 account, address market, address borrower, address agent)
        external
        returns (address)
    {
        return address(new CustosReceipt(pledges, account, market, borrower, agent));
    }

    function deployMorphoOracle(
        ICustosPledgeValue pledges,
        bytes32 account,
        address beneficiary,
        address receipt,
        address loanToken
    ) external returns (address) {
        return address(new CustosMorphoOracle(pledges, account, beneficiary, receipt, loanToken));
    }

    function deployReceiptFeed(ICustosPledgeValue pledges, bytes32 account, address beneficiary, address receipt)
        external
        returns (address)
    {
        return address(new CustosReceiptFeed(pledges, account, beneficiary, receipt));
    }
}
