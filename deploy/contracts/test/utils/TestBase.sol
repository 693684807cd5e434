// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// The forge cheatcodes these tests use, and nothing else.
interface Vm {
    function warp(uint256 timestamp) external;
    function chainId(uint256 newChainId) external;
    function prank(address sender) external;
    function startPrank(address sender) external;
    function stopPrank() external;
    function etch(address target, bytes calldata code) external;
    function store(address target, bytes32 slot, bytes32 value) external;
    function load(address target, bytes32 slot) external view returns (bytes32);
    function expectRevert(bytes calldata revertData) external;
    function expectRevert() external;
    function expectEmit(bool topic1, bool topic2, bool topic3, bool data, address emitter) external;
    function sign(uint256 privateKey, bytes32 digest) external pure returns (uint8 v, bytes32 r, bytes32 s);
    function addr(uint256 privateKey) external pure returns (address);
    function readFile(string calldata path) external view returns (string memory);
    function parseJsonBytes32(string calldata json, string calldata key) external pure returns (bytes32);
    function parseJsonAddress(string calldata json, string calldata key) external pure returns (address);
    function parseJsonUint(string calldata json, string calldata key) external pure returns (uint256);
    function parseJsonBytes(string calldata json, string calldata key) external pure returns (bytes memory);
    function parseJson(string calldata json, string calldata key) external pure returns (bytes memory);
    function parseJsonString(string calldata json, string calldata key) external pure returns (string memory);
}

/// Minimal base for forge tests: the cheatcode handle, assertions that revert with a
/// readable message, and a log line forge prints with -vv.
abstract contract TestBase {
    Vm internal constant vm = Vm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D);
    address private constant CONSOLE = 0x000000000000000000636F6e736F6c652e6c6f67;

    /// Forge only treats a contract as a test suite if it says so.
    bool public IS_TEST = true;

    error AssertionFailed(string what, bytes32 got, bytes32 want);

    function assertEq(uint256 got, uint256 want, string memory what) internal pure {
        if (got != want) revert AssertionFailed(what, bytes32(got), bytes32(want));
    }

    function assertEq(int256 got, int256 want, string memory what) internal pure {
        if (got != want) revert AssertionFailed(what, bytes32(uint256(got)), bytes32(uint256(want)));
    }

    function assertEq(bytes32 got, bytes32 want, string memory what) internal pure {
        if (got != want) revert AssertionFailed(what, got, want);
    }

    function assertEq(address got, address want, string memory what) internal pure {
        if (got != want) revert AssertionFailed(what, bytes32(uint256(uint160(got))), bytes32(uint256(uint160(want))));
    }

    function assertEq(string memory got, string memory want, string memory what) internal pure {
        if (keccak256(bytes(got)) != keccak256(bytes(want))) {
            revert AssertionFailed(what, keccak256(bytes(got)), keccak256(bytes(want)));
        }
    }

    function assertTrue(bool ok, string memory what) internal pure {
        if (!ok) revert AssertionFailed(what, 0, bytes32(uint256(1)));
    }

    function assertLe(uint256 got, uint256 bound, string memory what) internal pure {
        if (got > bound) revert AssertionFailed(what, bytes32(got), bytes32(bound));
    }

    function log(string memory label, uint256 value) internal view {
        (bool ok,) = CONSOLE.staticcall(abi.encodeWithSignature("log(string,uint256)", label, value));
        ok;
    }
}
