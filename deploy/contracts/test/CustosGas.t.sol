// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {CustosFixture} from "./utils/CustosFixture.sol";
import {CustosAdapter} from "../src/CustosAdapter.sol";
import {Attestation} from "../src/CustosTypes.sol";

/// Gas of submit() updating an account that already has an attestation, with 1, 2 and 3
/// signatures. Prints (forge test -vv) the execution gas measured around the call, the
/// calldata gas of the transaction that would carry it, and their sum with the 21000
/// base as an estimate of the whole transaction. Fails if a 2-signature update exceeds
/// the 90k budget.
contract CustosGasTest is CustosFixture {
    uint256 internal constant V = 100_000_000e18;
    uint256 internal constant TX_BASE = 21_000;
    /// CALL to a cold account from the test: part of the measurement, not of a real tx
    /// (there the adapter is the transaction's warm `to`).
    uint256 internal constant COLD_CALL = 2_600;
    uint256 internal constant BUDGET_2SIG = 90_000;

    function setUp() public override {
        super.setUp();
        vm.prank(OWNER);
        adapter.setFeed(FEED_A, 2, false, MAX_AGE, MAX_SKEW, MAX_TTL); // 2-of-n, any roles
        _submit(_valuation(1, V));
        Attestation memory b = _valuation(1, V);
        b.account = ACCOUNT_B;
        adapter.submit(FEED_B, b, _sign(b, _keys(PK_BANK_B)));
        vm.warp(T0 + 1 hours);
    }

    function _measure(string memory label, bytes32 feedId, Attestation memory a, bytes memory sigs)
        internal
        returns (uint256 total)
    {
        bytes memory data = abi.encodeCall(CustosAdapter.submit, (feedId, a, sigs));
        uint256 calldataGas;
        for (uint256 i; i < data.length; i++) {
            calldataGas += data[i] == 0 ? 4 : 16;
        }
        uint256 before = gasleft();
        adapter.submit(feedId, a, sigs);
        uint256 exec = before - gasleft();
        total = TX_BASE + calldataGas + exec - COLD_CALL;
        log(string.concat(label, " execution"), exec - COLD_CALL);
        log(string.concat(label, " calldata"), calldataGas);
        log(string.concat(label, " transaction estimate"), total);
    }

    function test_Gas_Submit1Signature() public {
        Attestation memory a = _valuation(2, V / 3);
        a.account = ACCOUNT_B;
        bytes memory sigs = _sign(a, _keys(PK_BANK_B));
        _measure("submit 1 sig", FEED_B, a, sigs);
    }

    function test_Gas_Submit2Signatures() public {
        Attestation memory a = _valuation(2, V / 3);
        bytes memory sigs = _sign(a, _keys(PK_CUSTODIAN, PK_AGENT));
        uint256 total = _measure("submit 2 sigs", FEED_A, a, sigs);
        assertLe(total, BUDGET_2SIG, "2-signature update over budget");
    }

    function test_Gas_Submit3Signatures() public {
        Attestation memory a = _valuation(2, V / 3);
        bytes memory sigs = _sign(a, _keys(PK_CUSTODIAN, PK_AGENT, PK_AUDITOR));
        _measure("submit 3 sigs", FEED_A, a, sigs);
    }
}
