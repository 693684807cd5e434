// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {TestBase} from "./utils/TestBase.sol";
import {CustosAdapter} from "../src/CustosAdapter.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

import {Attestation, Batch, CustosEIP712} from "../src/CustosTypes.sol";

/// Known-answer test: the adapter's EIP-712 digest equals the one ethers'
/// TypedDataEncoder.hash computes for the same attestation and domain.
/// The expected values were generated with
///     node deploy/contracts/tools/digest-vector.js --write
/// which also writes test/vectors/digest.json (read below, and by libcustos's C tests).
/// The batch vector (test/vectors/batch.json: ethers for the digests, the
/// OpenZeppelin merkle-tree package for the tree and proofs) comes from
///     node deploy/contracts/tools/batch-vector.js --write
contract CustosDigestTest is TestBase {
    uint256 internal constant CHAIN_ID = 1;
    address internal constant VERIFYING_CONTRACT = 0x5FbDB2315678afecb367f032d93F642f64180aa3;
    bytes32 internal constant DOMAIN_SEPARATOR = 0x2862011f7fb3c6d0927006d6b85b43c234f33d24c8283ac8c673c885ce132e63;
    bytes32 internal constant DIGEST = 0x1aa33e5984dd5af71d8355f12e0ef76792526939f9f1de6477e2752212171b05;
    address internal constant SIGNER = 0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A; // key 0x11..11
    bytes internal constant SIGNATURE =
        hex"3cc3f9caaf48f2dbe30d431811195ebd7a580874d44b45c502ccd3b84bcf99617b2cf999af6cd06a96e3e7c12ca355b85028889797a3ea31e6430fbd396652521c";

    function _vector() internal pure returns (Attestation memory) {
        return Attestation({
            account: 0xcb0e8637d4b7fefd029f3c7a8e69d620904f2a688580efb11936bbcce77886ee,
            beneficiary: 0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48,
            kind: 0,
            grossValue: 125000000000000000000000000,
            collateralValue: 121875000000000000000000000,
            positionsRoot: 0x7fb89fa1e4df836928ea2c4aa0f4cafd0c8bdf160b3f4a9c01321a2de10a9432,
            asOf: 1767369600,
            validUntil: 1767628800,
            sequence: 42
        });
    }

    /// The adapter's code placed at the vector's verifyingContract on the vector's chain.
    function _adapterAtVectorAddress() internal returns (CustosAdapter a) {
        CustosAdapter deployed = new CustosAdapter(address(this));
        vm.etch(VERIFYING_CONTRACT, address(deployed).code);
        vm.chainId(CHAIN_ID);
        a = CustosAdapter(VERIFYING_CONTRACT);
    }

    function test_DigestKnownAnswer() public {
        CustosAdapter a = _adapterAtVectorAddress();
        assertEq(a.domainSeparator(), DOMAIN_SEPARATOR, "domain separator");
        assertEq(a.digest(_vector()), DIGEST, "digest");
    }

    function test_SignatureKnownAnswer() public pure {
        bytes memory sig = SIGNATURE;
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly {
            r := mload(add(sig, 32))
            s := mload(add(sig, 64))
            v := byte(0, mload(add(sig, 96)))
        }
        assertEq(ecrecover(DIGEST, v, r, s), SIGNER, "ethers signature recovers the vector key");
    }

    function test_VectorFileMatches() public view {
        string memory json = vm.readFile("test/vectors/digest.json");
        assertEq(vm.parseJsonBytes32(json, ".digest"), DIGEST, "digest.json digest");
        assertEq(vm.parseJsonBytes32(json, ".domainSeparator"), DOMAIN_SEPARATOR, "digest.json separator");
        assertEq(vm.parseJsonAddress(json, ".domain.verifyingContract"), VERIFYING_CONTRACT, "digest.json contract");
        assertEq(vm.parseJsonUint(json, ".domain.chainId"), CHAIN_ID, "digest.json chain");
        Attestation memory v = _vector();
        assertEq(vm.parseJsonBytes32(json, ".attestation.account"), v.account, "account");
        assertEq(vm.parseJsonAddress(json, ".attestation.beneficiary"), v.beneficiary, "beneficiary");
        assertEq(vm.parseJsonUint(json, ".attestation.kind"), v.kind, "kind");
        assertEq(vm.parseJsonUint(json, ".attestation.grossValue"), v.grossValue, "grossValue");
        assertEq(vm.parseJsonUint(json, ".attestation.collateralValue"), v.collateralValue, "collateralValue");
        assertEq(vm.parseJsonBytes32(json, ".attestation.positionsRoot"), v.positionsRoot, "positionsRoot");
        assertEq(vm.parseJsonUint(json, ".attestation.asOf"), v.asOf, "asOf");
        assertEq(vm.parseJsonUint(json, ".attestation.validUntil"), v.validUntil, "validUntil");
        assertEq(vm.parseJsonUint(json, ".attestation.sequence"), v.sequence, "sequence");
        assertEq(keccak256(vm.parseJsonBytes(json, ".signature.rsv")), keccak256(SIGNATURE), "signature");
    }

    /// The vector's signature is accepted end to end by an adapter at the vector's address.
    function test_VectorSubmits() public {
        CustosAdapter a = _adapterAtVectorAddress();
        // Storage is not copied by etch: configure the etched instance. The owner slot
        // (0) is set to this contract.
        vm.store(VERIFYING_CONTRACT, bytes32(0), bytes32(uint256(uint160(address(this)))));
        bytes32 feedId = keccak256("vector");
        a.setFeed(feedId, 1, false, 4 days, 300, 5 days);
        a.addSigner(feedId, SIGNER, 0);
        Attestation memory v = _vector();
        a.registerAccount(v.account, feedId);
        vm.warp(v.asOf + 1 hours);
        a.submit(feedId, v, SIGNATURE);
        assertEq(a.collateralValue(v.account), v.collateralValue, "value");
    }

    // ------------------------------------------------------------------ the batch vector

    function _batchJson() internal view returns (string memory) {
        return vm.readFile("test/vectors/batch.json");
    }

    function _leafAttestation(string memory json, uint256 i) internal pure returns (Attestation memory a) {
        return _attestationAt(json, string.concat(".leaves[", _decimal(i), "].attestation"));
    }

    function _attestationAt(string memory json, string memory k) internal pure returns (Attestation memory a) {
        a.account = vm.parseJsonBytes32(json, string.concat(k, ".account"));
        a.beneficiary = vm.parseJsonAddress(json, string.concat(k, ".beneficiary"));
        a.kind = uint8(vm.parseJsonUint(json, string.concat(k, ".kind")));
        a.grossValue = vm.parseJsonUint(json, string.concat(k, ".grossValue"));
        a.collateralValue = vm.parseJsonUint(json, string.concat(k, ".collateralValue"));
        a.positionsRoot = vm.parseJsonBytes32(json, string.concat(k, ".positionsRoot"));
        a.asOf = uint64(vm.parseJsonUint(json, string.concat(k, ".asOf")));
        a.validUntil = uint64(vm.parseJsonUint(json, string.concat(k, ".validUntil")));
        a.sequence = uint64(vm.parseJsonUint(json, string.concat(k, ".sequence")));
    }

    function _decimal(uint256 i) internal pure returns (string memory) {
        return i == 0 ? "0" : i == 1 ? "1" : i == 2 ? "2" : "?";
    }

    function _batchVector(string memory json) internal pure returns (Batch memory b, Attestation[] memory atts) {
        b.feedId = vm.parseJsonBytes32(json, ".batch.feedId");
        b.accountsRoot = vm.parseJsonBytes32(json, ".batch.accountsRoot");
        b.count = uint32(vm.parseJsonUint(json, ".batch.count"));
        b.asOf = uint64(vm.parseJsonUint(json, ".batch.asOf"));
        b.validUntil = uint64(vm.parseJsonUint(json, ".batch.validUntil"));
        b.sequence = uint64(vm.parseJsonUint(json, ".batch.sequence"));
        atts = new Attestation[](b.count);
        for (uint256 i; i < b.count; i++) {
            atts[i] = _leafAttestation(json, i);
        }
    }

    /// The adapter's batch digest is ethers', and each exported proof of the package
    /// verifies the account's leaf with OpenZeppelin's MerkleProof against the signed root.
    function test_BatchDigestKnownAnswer() public {
        string memory json = _batchJson();
        (Batch memory b, Attestation[] memory atts) = _batchVector(json);
        assertEq(b.count, 3, "three accounts");
        CustosAdapter a = _adapterAtVectorAddress();
        assertEq(a.batchDigest(b), vm.parseJsonBytes32(json, ".digest"), "batch digest");
        for (uint256 i; i < atts.length; i++) {
            string memory k = string.concat(".leaves[", _decimal(i), "]");
            bytes32 h = vm.parseJsonBytes32(json, string.concat(k, ".structHash"));
            assertEq(keccak256(abi.encode(CustosEIP712.TYPEHASH, atts[i])), h, "struct hash");
            bytes32 l = keccak256(bytes.concat(keccak256(abi.encode(h))));
            assertEq(vm.parseJsonBytes32(json, string.concat(k, ".leaf")), l, "leaf");
            bytes32[] memory proof = abi.decode(vm.parseJson(json, string.concat(k, ".proof")), (bytes32[]));
            assertTrue(MerkleProof.verify(proof, b.accountsRoot, l), "proof");
        }
    }

    /// An adapter at the vector's address, owned by this test, with the vector's feed, signer
    /// and accounts.
    function _batchVectorAdapter(string memory json, Batch memory b, Attestation[] memory atts)
        internal
        returns (CustosAdapter a)
    {
        a = _adapterAtVectorAddress();
        vm.store(VERIFYING_CONTRACT, bytes32(0), bytes32(uint256(uint160(address(this)))));
        a.setFeed(b.feedId, 1, false, 4 days, 300, 5 days);
        a.addSigner(b.feedId, vm.parseJsonAddress(json, ".signature.address"), 0);
        for (uint256 i; i < atts.length; i++) {
            a.registerAccount(atts[i].account, b.feedId);
        }
        vm.warp(b.asOf + 1 hours);
    }

    /// The vector's batch, signed by ethers, is accepted whole by an adapter at the
    /// vector's address: the adapter's tree is the package's.
    function test_BatchVectorSubmits() public {
        string memory json = _batchJson();
        (Batch memory b, Attestation[] memory atts) = _batchVector(json);
        CustosAdapter a = _batchVectorAdapter(json, b, atts);
        a.submitBatch(b.feedId, b, atts, vm.parseJsonBytes(json, ".signature.rsv"));
        for (uint256 i; i < atts.length; i++) {
            assertEq(a.collateralValue(atts[i].account), atts[i].collateralValue, "value");
            assertEq(a.latest(atts[i].account).sequence, atts[i].sequence, "sequence");
        }
        assertEq(a.batchSequence(b.feedId), b.sequence, "batch sequence");
    }

    /// The vector's multiproof of two of the batch's three leaves, made by the package's
    /// getMultiProof, verifies with OpenZeppelin's MerkleProof and is accepted by
    /// submitBatchPart: the adapter's multiproof is OpenZeppelin's. The third account stays
    /// unwritten, and the feed's batch sequence unmoved.
    function test_BatchVectorPartSubmits() public {
        string memory json = _batchJson();
        (Batch memory b, Attestation[] memory atts) = _batchVector(json);
        Attestation[] memory part = new Attestation[](2);
        bytes32[] memory leaves = new bytes32[](2);
        for (uint256 i; i < 2; i++) {
            part[i] = _attestationAt(json, string.concat(".multiproof.attestations[", _decimal(i), "]"));
            leaves[i] = keccak256(bytes.concat(keccak256(abi.encode(CustosEIP712.structHashMemory(part[i])))));
        }
        bytes32[] memory proof = abi.decode(vm.parseJson(json, ".multiproof.proof"), (bytes32[]));
        bool[] memory flags = abi.decode(vm.parseJson(json, ".multiproof.proofFlags"), (bool[]));
        assertTrue(MerkleProof.multiProofVerify(proof, flags, b.accountsRoot, leaves), "OpenZeppelin's multiproof");
        CustosAdapter a = _batchVectorAdapter(json, b, atts);
        _submitPart(a, b, part, proof, flags, vm.parseJsonBytes(json, ".signature.rsv"));
        uint256 written;
        for (uint256 i; i < atts.length; i++) {
            bool inPart = atts[i].account == part[0].account || atts[i].account == part[1].account;
            if (inPart) {
                assertEq(a.collateralValue(atts[i].account), atts[i].collateralValue, "value");
                written++;
            } else {
                vm.expectRevert(abi.encodeWithSelector(CustosAdapter.NoAttestation.selector, atts[i].account));
                a.latest(atts[i].account);
            }
        }
        assertEq(written, 2, "the part's two accounts");
        assertEq(a.batchSequence(b.feedId), 0, "a part records no batch sequence");
    }

    function _submitPart(
        CustosAdapter a,
        Batch memory b,
        Attestation[] memory part,
        bytes32[] memory proof,
        bool[] memory flags,
        bytes memory sigs
    ) internal {
        a.submitBatchPart(b.feedId, b, part, proof, flags, sigs);
    }
}
