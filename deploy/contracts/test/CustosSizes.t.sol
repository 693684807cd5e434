// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {LendingFixture} from "./utils/LendingFixture.sol";
import {CustosReserves, ICustosReservesSource} from "../src/CustosReserves.sol";

/// EIP-170: a contract's runtime code is at most 24,576 bytes, or it cannot be deployed
/// on Ethereum (forge's test EVM enforces it too, but this names the culprit and prints
/// the margin: forge test -vv --match-contract Sizes). Each contract keeps HEADROOM bytes
/// below the limit, so that a fix can always be deployed without first cutting something
/// else: the adapter once stood 37 bytes under it.
contract CustosSizesTest is LendingFixture {
    uint256 internal constant EIP170_LIMIT = 24_576;
    uint256 internal constant HEADROOM = 2_048;

    function _check(string memory name, address a) internal view {
        uint256 size = a.code.length;
        log(string.concat(name, " runtime bytes"), size);
        assertLe(size, EIP170_LIMIT, string.concat(name, " over the EIP-170 limit"));
        assertLe(
            size,
            EIP170_LIMIT - HEADROOM,
            string.concat(name, " within 2,048 bytes of the EIP-170 limit: no room left for a fix")
        );
    }

    function test_ContractsUnderEip170() public {
        _check("CustosAdapter", address(adapter));
        _check("CustosPledges", address(pledges));
        _check("CustosPledgeFactory", address(factory));
        _check("CustosReserves", address(new CustosReserves(ICustosReservesSource(address(adapter)), 1 days, 0)));
    }
}
