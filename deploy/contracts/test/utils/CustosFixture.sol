// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {TestBase} from "./TestBase.sol";
import {CustosAdapter} from "../../src/CustosAdapter.sol";
import {Attestation, CustosEIP712} from "../../src/CustosTypes.sol";

/// A deployed adapter with one feed ("bank-a": 2-of-2, distinct roles) and a second
/// feed ("bank-b": 1-of-1), their signers and accounts, and signing helpers.
abstract contract CustosFixture is TestBase {
    CustosAdapter internal adapter;

    bytes32 internal constant FEED_A = keccak256("bank-a/treasuries");
    bytes32 internal constant FEED_B = keccak256("bank-b/mmf");
    bytes32 internal constant ACCOUNT_1 = keccak256("bank-a/account-1");
    bytes32 internal constant ACCOUNT_B = keccak256("bank-b/account-1");

    uint32 internal constant MAX_AGE = 4 days;
    uint32 internal constant MAX_SKEW = 5 minutes;
    uint32 internal constant MAX_TTL = 5 days;

    uint256 internal constant T0 = 1_767_369_600; // 2026-01-02T16:00:00Z

    // Test-only keys.
    uint256 internal constant PK_CUSTODIAN = 0xC0FFEE01;
    uint256 internal constant PK_AGENT = 0xC0FFEE02;
    uint256 internal constant PK_ADMIN = 0xC0FFEE03;
    uint256 internal constant PK_AUDITOR = 0xC0FFEE04;
    uint256 internal constant PK_CUSTODIAN_2 = 0xC0FFEE05; // a second custodian-role key
    uint256 internal constant PK_OUTSIDER = 0xBAD;
    uint256 internal constant PK_BANK_B = 0xB0B;

    address internal constant MARKET_A = address(0xA11CE);
    address internal constant MARKET_B = address(0xB0B0);
    address internal constant OWNER = address(0x0FF1CE);

    function setUp() public virtual {
        vm.warp(T0);
        adapter = new CustosAdapter(OWNER);
        vm.prank(OWNER);
        adapter.setFeed(FEED_A, 2, true, MAX_AGE, MAX_SKEW, MAX_TTL);
        vm.prank(OWNER);
        adapter.setFeed(FEED_B, 1, false, MAX_AGE, MAX_SKEW, MAX_TTL);
        _addSigner(FEED_A, PK_CUSTODIAN, 0);
        _addSigner(FEED_A, PK_AGENT, 1);
        _addSigner(FEED_A, PK_ADMIN, 2);
        _addSigner(FEED_A, PK_AUDITOR, 3);
        _addSigner(FEED_A, PK_CUSTODIAN_2, 0);
        _addSigner(FEED_B, PK_BANK_B, 0);
        vm.prank(OWNER);
        adapter.registerAccount(ACCOUNT_1, FEED_A);
        vm.prank(OWNER);
        adapter.registerAccount(ACCOUNT_B, FEED_B);
    }

    function _addSigner(bytes32 feedId, uint256 pk, uint8 role) internal {
        vm.prank(OWNER);
        adapter.addSigner(feedId, vm.addr(pk), role);
    }

    /// A valuation of ACCOUNT_1 for MARKET_A observed now, valid for a day.
    function _valuation(uint64 sequence, uint256 value) internal view returns (Attestation memory a) {
        a = Attestation({
            account: ACCOUNT_1,
            beneficiary: MARKET_A,
            kind: 0,
            grossValue: value + value / 39,
            collateralValue: value,
            positionsRoot: keccak256(abi.encode("positions", sequence)),
            asOf: uint64(block.timestamp),
            validUntil: uint64(block.timestamp + 1 days),
            sequence: sequence
        });
    }

    function _ofKind(Attestation memory a, uint8 kind) internal pure returns (Attestation memory) {
        a.kind = kind;
        return a;
    }

    function _digest(Attestation memory a) internal view returns (bytes32) {
        return adapter.digest(a);
    }

    function _sig(uint256 pk, bytes32 d) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(pk, d);
        return abi.encodePacked(r, s, v);
    }

    /// Signs with every key and packs the signatures ordered by signer address, as the
    /// gateway does.
    function _sign(Attestation memory a, uint256[] memory pks) internal view returns (bytes memory out) {
        return _signDigest(_digest(a), pks);
    }

    function _signDigest(bytes32 d, uint256[] memory pks) internal pure returns (bytes memory out) {
        uint256 n = pks.length;
        uint256[] memory sorted = new uint256[](n);
        for (uint256 i; i < n; i++) {
            sorted[i] = pks[i];
        }
        for (uint256 i = 1; i < n; i++) {
            uint256 k = sorted[i];
            uint256 j = i;
            while (j > 0 && vm.addr(sorted[j - 1]) > vm.addr(k)) {
                sorted[j] = sorted[j - 1];
                j--;
            }
            sorted[j] = k;
        }
        for (uint256 i; i < n; i++) {
            out = bytes.concat(out, _sig(sorted[i], d));
        }
    }

    function _leafOf(Attestation memory a) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(CustosEIP712.structHashMemory(a)))));
    }

    /// Sorts by leaf (the tree's order) and returns the StandardMerkleTree root, built as
    /// OpenZeppelin's merkle-tree package builds it (the vector test checks it against the library).
    function _sortAndRoot(Attestation[] memory atts) internal pure returns (bytes32) {
        uint256 n = atts.length;
        for (uint256 i = 1; i < n; i++) {
            Attestation memory k = atts[i];
            uint256 j = i;
            while (j > 0 && _leafOf(atts[j - 1]) > _leafOf(k)) {
                atts[j] = atts[j - 1];
                j--;
            }
            atts[j] = k;
        }
        bytes32[] memory tree = new bytes32[](2 * n - 1);
        for (uint256 i; i < n; i++) {
            tree[tree.length - 1 - i] = _leafOf(atts[i]);
        }
        for (uint256 k = n - 1; k > 0; k--) {
            bytes32 a = tree[2 * (k - 1) + 1];
            bytes32 b = tree[2 * (k - 1) + 2];
            tree[k - 1] = a < b ? keccak256(abi.encode(a, b)) : keccak256(abi.encode(b, a));
        }
        return tree[0];
    }

    function _keys(uint256 a) internal pure returns (uint256[] memory k) {
        k = new uint256[](1);
        k[0] = a;
    }

    function _keys(uint256 a, uint256 b) internal pure returns (uint256[] memory k) {
        k = new uint256[](2);
        k[0] = a;
        k[1] = b;
    }

    function _keys(uint256 a, uint256 b, uint256 c) internal pure returns (uint256[] memory k) {
        k = new uint256[](3);
        k[0] = a;
        k[1] = b;
        k[2] = c;
    }

    /// Submits a to FEED_A signed by the custodian and the valuation agent.
    function _submit(Attestation memory a) internal {
        adapter.submit(FEED_A, a, _sign(a, _keys(PK_CUSTODIAN, PK_AGENT)));
    }

    function _err(bytes4 sel) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(sel);
    }
}
