// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {LendingFixture} from "./utils/LendingFixture.sol";
import {Attestation} from "../src/CustosTypes.sol";
import {CustosPledges} from "../src/lending/CustosPledges.sol";

/// What Aave v3's AaveOracle needs of a fallback oracle (IPriceOracleGetter).
interface IPriceOracleGetter {
    function getAssetPrice(address asset) external view returns (uint256);
}

/// What AaveOracle offers (from IAaveOracle of the npm package aave/core-v3).
interface IAaveOracle is IPriceOracleGetter {
    function getSourceOfAsset(address asset) external view returns (address);
    function getFallbackOracle() external view returns (address);
    function BASE_CURRENCY_UNIT() external view returns (uint256);
}

/// A fallback answering 0 for every asset it is asked about: what a market holding Custos
/// receipts should have (see deploy/contracts/README.md).
contract ZeroFallback is IPriceOracleGetter {
    function getAssetPrice(address) external pure returns (uint256) {
        return 0;
    }
}

/// A fallback keeping a price of its own (for instance the last one it saw): what a
/// market must not have for a receipt, since it would answer in place of a 0.
contract KeptPriceFallback is IPriceOracleGetter {
    function getAssetPrice(address) external pure returns (uint256) {
        return 100_000_000_000_000; // $1,000,000.00000000
    }
}

/// Aave v3's AaveOracle, deployed from the bytecode published in the npm package
/// aave/core-v3 (version 1.19.3, unchanged), prices a receipt through its 8-decimal source; a value that may not be
/// counted reaches the market as 0 or as a revert, depending on the fallback oracle.
contract CustosAaveTest is LendingFixture {
    address internal constant POOL = address(0xAA7E);
    address internal receipt;
    address internal source;

    function setUp() public override {
        super.setUp();
        CustosPledges.Terms memory t = _terms(ACCOUNT_1, address(0));
        t.beneficiary = POOL;
        t.irm = address(0);
        t.lltv = 0;
        t.createMarket = false;
        vm.prank(OWNER);
        (receipt,,) = pledges.createPledge(t);
        source = pledges.createReceiptFeed(ACCOUNT_1, POOL);
    }

    function _aaveOracle(address fallbackOracle) internal returns (IAaveOracle o) {
        string memory json =
            vm.readFile("../../node_modules/@aave/core-v3/artifacts/contracts/misc/AaveOracle.sol/AaveOracle.json");
        assertEq(vm.parseJsonString(json, ".contractName"), "AaveOracle", "artifact");
        address[] memory assets = new address[](1);
        address[] memory sources = new address[](1);
        assets[0] = receipt;
        sources[0] = source;
        // (provider, assets, sources, fallback, base currency 0 = USD, unit 1e8); the
        // provider is only read by the setters, which this test does not call.
        bytes memory code = bytes.concat(
            vm.parseJsonBytes(json, ".bytecode"),
            abi.encode(address(0xADD5), assets, sources, fallbackOracle, address(0), uint256(1e8))
        );
        address a;
        assembly ("memory-safe") {
            a := create(0, add(code, 0x20), mload(code))
        }
        assertTrue(a != address(0), "AaveOracle deployed");
        o = IAaveOracle(a);
        assertEq(o.getSourceOfAsset(receipt), source, "source");
        assertEq(o.BASE_CURRENCY_UNIT(), 1e8, "unit");
    }

    function _value(uint64 sequence, uint256 v) internal {
        _attest(ACCOUNT_1, POOL, 0, sequence, v);
    }

    /// $1,000,000 is 1e14 in AaveOracle's 8-decimal USD base; a fraction of a dollar
    /// below the 8th decimal (0.00000000123456789) is floored away.
    function test_AaveOracleReadsTheSource() public {
        IAaveOracle o = _aaveOracle(address(new ZeroFallback()));
        _value(1, 1_000_000e18);
        assertEq(o.getAssetPrice(receipt), 100_000_000_000_000, "price");
        _value(2, 1_000_000.000000001234567890e18);
        assertEq(o.getAssetPrice(receipt), 100_000_000_000_000, "floored");
    }

    /// A freeze makes the source answer 0; AaveOracle then asks its fallback. With a
    /// fallback answering 0 the market sees 0 (worthless collateral, nothing to borrow).
    function test_FreezeReachesAaveAsZeroWithZeroFallback() public {
        IAaveOracle o = _aaveOracle(address(new ZeroFallback()));
        _value(1, 1_000_000e18);
        _attest(ACCOUNT_1, POOL, 2, 2, 0);
        assertEq(o.getAssetPrice(receipt), 0, "frozen");
    }

    /// A stale value, the same way.
    function test_StaleReachesAaveAsZeroWithZeroFallback() public {
        IAaveOracle o = _aaveOracle(address(new ZeroFallback()));
        Attestation memory a = _valuation(1, 1_000_000e18);
        a.beneficiary = POOL;
        a.validUntil = uint64(block.timestamp + MAX_TTL);
        _submit(a);
        vm.warp(block.timestamp + MAX_AGE + 1);
        assertEq(o.getAssetPrice(receipt), 0, "stale");
    }

    /// Without a fallback, AaveOracle calls address(0) and every price read of the
    /// receipt reverts (the market's reads of that borrower's position revert with it).
    function test_NoFallbackReverts() public {
        IAaveOracle o = _aaveOracle(address(0));
        _value(1, 1_000_000e18);
        assertEq(o.getAssetPrice(receipt), 100_000_000_000_000, "price");
        _attest(ACCOUNT_1, POOL, 2, 2, 0);
        vm.expectRevert();
        o.getAssetPrice(receipt);
    }

    /// A fallback with a price of its own answers in the source's place: the freeze
    /// would not reach the market. This is the configuration to avoid.
    function test_FallbackWithItsOwnPriceDefeatsFailClosed() public {
        IAaveOracle o = _aaveOracle(address(new KeptPriceFallback()));
        _value(1, 1_000_000e18);
        _attest(ACCOUNT_1, POOL, 2, 2, 0);
        assertEq(o.getAssetPrice(receipt), 100_000_000_000_000, "fallback answered");
    }
}
