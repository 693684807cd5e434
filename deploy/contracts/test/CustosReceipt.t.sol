// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {LendingFixture} from "./utils/LendingFixture.sol";
import {CustosPledges} from "../src/lending/CustosPledges.sol";
import {CustosReceipt} from "../src/lending/CustosReceipt.sol";

/// The receipt's transfer rules, one row per (from, to): only pledge parties move it,
/// and a seizure (market to agent) needs a countable value.
contract CustosReceiptTest is LendingFixture {
    address internal constant MARKET = MARKET_A;
    CustosReceipt internal receipt;

    struct Move {
        address from;
        address to;
        bool allowed;
    }

    function setUp() public override {
        super.setUp();
        CustosPledges.Terms memory t = _terms(ACCOUNT_1, address(0));
        t.beneficiary = MARKET;
        t.irm = address(0);
        t.lltv = 0;
        t.createMarket = false;
        vm.prank(OWNER);
        (address r,,) = pledges.createPledge(t);
        receipt = CustosReceipt(r);
        _attest(ACCOUNT_1, MARKET, 0, 1, 1_000_000e18);
        // Spread the supply so that every party holds some.
        vm.startPrank(BORROWER);
        receipt.transfer(MARKET, 0.4e18);
        receipt.transfer(AGENT, 0.2e18);
        vm.stopPrank();
    }

    function test_FixedSupplyMintedToTheBorrower() public {
        CustosReceipt fresh = CustosReceipt(factory.deployReceipt(pledges, ACCOUNT_B, MARKET, BORROWER, AGENT));
        assertEq(fresh.totalSupply(), 1e18, "supply");
        assertEq(fresh.balanceOf(BORROWER), 1e18, "borrower holds it all");
        assertEq(fresh.decimals(), 18, "decimals");
        assertEq(fresh.symbol(), "CUSTOS-R", "symbol");
        // keccak256("bank-b/account-1"), computed with ethers' id()
        assertEq(
            fresh.name(),
            "Custos receipt 0xce22d82c2fc0f23532e7753cdabed54e9b1725d2931252a7beee1801cdc4d20e",
            "name"
        );
        assertEq(fresh.account(), ACCOUNT_B, "account");
        assertEq(fresh.market(), MARKET, "market");
        assertEq(fresh.borrower(), BORROWER, "borrower");
        assertEq(fresh.agent(), AGENT, "agent");
    }

    function _moves() internal pure returns (Move[] memory m) {
        address[4] memory who = [BORROWER, MARKET, AGENT, OUTSIDER];
        m = new Move[](16);
        uint256 k;
        for (uint256 i; i < 4; i++) {
            for (uint256 j; j < 4; j++) {
                m[k++] = Move(who[i], who[j], i < 3 && j < 3);
            }
        }
    }

    /// Every (from, to) pair, by transfer and by transferFrom through an approved
    /// spender, with and without an amount: allowed exactly among borrower, market, agent.
    function test_TransferRules() public {
        deal(OUTSIDER);
        Move[] memory moves = _moves();
        for (uint256 i; i < moves.length; i++) {
            Move memory mv = moves[i];
            for (uint256 amount; amount <= 1; amount++) {
                bytes memory err = abi.encodeWithSelector(CustosReceipt.TransferRestricted.selector, mv.from, mv.to);
                if (!mv.allowed) vm.expectRevert(err);
                vm.prank(mv.from);
                receipt.transfer(mv.to, amount);

                vm.prank(mv.from);
                receipt.approve(address(this), amount);
                if (!mv.allowed) vm.expectRevert(err);
                receipt.transferFrom(mv.from, mv.to, amount);
            }
        }
    }

    /// Receipts an outsider cannot get are receipts it cannot hold: give it some by
    /// writing the balance, to check that it cannot move them on either.
    function deal(address who) internal {
        // OpenZeppelin ERC20: _balances is the first storage slot of the contract.
        vm.store(address(receipt), keccak256(abi.encode(who, uint256(0))), bytes32(uint256(1)));
    }

    /// Market to agent is a seizure: refused while the value may not be counted.
    function test_SeizureNeedsACountableValue() public {
        vm.prank(MARKET);
        receipt.transfer(AGENT, 0.1e18);
        _attest(ACCOUNT_1, MARKET, 2, 2, 0); // freeze
        vm.prank(MARKET);
        vm.expectRevert(abi.encodeWithSelector(CustosReceipt.SeizureWithoutValue.selector, ACCOUNT_1, MARKET));
        receipt.transfer(AGENT, 0.1e18);
        // Other moves among the parties still work (the borrower hands its receipt back).
        vm.prank(BORROWER);
        receipt.transfer(AGENT, 0.1e18);
        vm.prank(MARKET);
        receipt.transfer(BORROWER, 0.1e18);
    }
}
