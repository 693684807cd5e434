// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {CustosFixture} from "./CustosFixture.sol";
import {Attestation, Batch} from "../../src/CustosTypes.sol";

/// The batch tests' accounts (1 to 4 of feed A), attestations, batches and signatures.
abstract contract CustosBatchFixture is CustosFixture {
    uint256 internal constant V = 10_000_000e18;

    event BatchAccepted(
        bytes32 indexed feedId, uint64 indexed sequence, bytes32 accountsRoot, uint32 count, uint32 refused, bytes32 digest
    );
    event AccountRefused(bytes32 indexed account, bytes32 indexed feedId, uint64 indexed batchSequence, bytes reason);

    function setUp() public override {
        super.setUp();
        for (uint256 i = 2; i <= 4; i++) {
            vm.prank(OWNER);
            adapter.registerAccount(_account(i), FEED_A);
        }
    }

    function _account(uint256 i) internal pure returns (bytes32) {
        return i == 1 ? ACCOUNT_1 : keccak256(abi.encode("bank-a/account", i));
    }

    /// Valuations of accounts 1..n at sequence `sequence`, value V * i, all for MARKET_A.
    function _atts(uint256 n, uint64 sequence) internal view returns (Attestation[] memory atts) {
        atts = new Attestation[](n);
        for (uint256 i; i < n; i++) {
            atts[i] = _valuation(sequence, V * (i + 1));
            atts[i].account = _account(i + 1);
        }
    }

    function _batch(Attestation[] memory atts, uint64 sequence) internal view returns (Batch memory b) {
        b = Batch({
            feedId: FEED_A,
            accountsRoot: _sortAndRoot(atts),
            count: uint32(atts.length),
            asOf: uint64(block.timestamp),
            validUntil: uint64(block.timestamp + 1 days),
            sequence: sequence
        });
    }

    function _signBatch(Batch memory b) internal view returns (bytes memory) {
        return _signDigest(adapter.batchDigest(b), _keys(PK_CUSTODIAN, PK_AGENT));
    }

    function _submitBatch(Batch memory b, Attestation[] memory atts) internal {
        adapter.submitBatch(FEED_A, b, atts, _signBatch(b));
    }

    function _indexOf(Attestation[] memory atts, bytes32 account) internal pure returns (uint256) {
        for (uint256 i; i < atts.length; i++) {
            if (atts[i].account == account) return i;
        }
        revert("no such account in the batch");
    }

    function _expectRefused(bytes32 account, uint64 batchSequence, bytes memory reason) internal {
        vm.expectEmit(true, true, true, true, address(adapter));
        emit AccountRefused(account, FEED_A, batchSequence, reason);
    }
}
