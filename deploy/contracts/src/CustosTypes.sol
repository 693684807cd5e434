// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @notice The signed attestation, field for field the EIP-712 struct
/// CollateralAttestation of docs/attestation.md §3 (and include/custos/eip712.h).
struct Attestation {
    bytes32 account;
    address beneficiary;
    uint8 kind;
    uint256 grossValue;
    uint256 collateralValue;
    bytes32 positionsRoot;
    uint64 asOf;
    uint64 validUntil;
    uint64 sequence;
}

/// @notice The signed batch, field for field the EIP-712 struct CollateralBatch of
/// docs/attestation.md §16: one quorum signature over the OpenZeppelin StandardMerkleTree
/// root of the accounts' CollateralAttestation struct hashes.
struct Batch {
    bytes32 feedId;
    bytes32 accountsRoot;
    uint32 count;
    uint64 asOf;
    uint64 validUntil;
    uint64 sequence;
}

/// @notice What the adapter keeps of the latest accepted attestation of an account.
/// grossValue and positionsRoot are not stored (two slots per account, docs/adapter.md
/// §1): they stay in the transaction's calldata, committed to by the digest in the
/// AttestationAccepted event (or by the batch's accountsRoot), and no on-chain logic
/// reads them.
struct StoredAttestation {
    bytes32 feedId;
    address beneficiary;
    uint8 kind;
    uint256 collateralValue;
    uint64 asOf;
    uint64 validUntil;
    uint64 sequence;
}

/// @notice EIP-712 hashing of CollateralAttestation.
library CustosEIP712 {
    bytes32 internal constant TYPEHASH = keccak256(
        "CollateralAttestation(bytes32 account,address beneficiary,uint8 kind,"
        "uint256 grossValue,uint256 collateralValue,bytes32 positionsRoot,uint64 asOf,"
        "uint64 validUntil,uint64 sequence)"
    );
    bytes32 internal constant BATCH_TYPEHASH = keccak256(
        "CollateralBatch(bytes32 feedId,bytes32 accountsRoot,uint32 count,uint64 asOf,uint64 validUntil,"
        "uint64 sequence)"
    );
    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 internal constant NAME_HASH = keccak256("Custos Collateral Attestation");
    bytes32 internal constant VERSION_HASH = keccak256("1");

    function domainSeparator(uint256 chainId, address verifyingContract) internal pure returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, chainId, verifyingContract));
    }

    function structHash(Attestation calldata a) internal pure returns (bytes32) {
        return keccak256(abi.encode(TYPEHASH, a));
    }

    function structHashMemory(Attestation memory a) internal pure returns (bytes32) {
        return keccak256(abi.encode(TYPEHASH, a));
    }

    function batchStructHash(Batch calldata b) internal pure returns (bytes32) {
        return keccak256(abi.encode(BATCH_TYPEHASH, b));
    }

    function batchStructHashMemory(Batch memory b) internal pure returns (bytes32) {
        return keccak256(abi.encode(BATCH_TYPEHASH, b));
    }

    /// The leaf of an account in its batch's tree: OpenZeppelin StandardMerkleTree with
    /// leaf encoding ["bytes32"], keccak256(bytes.concat(keccak256(abi.encode(hashStruct)))).
    function leaf(bytes32 hashStruct) internal pure returns (bytes32 l) {
        assembly ("memory-safe") {
            mstore(0x00, hashStruct)
            mstore(0x00, keccak256(0x00, 0x20))
            l := keccak256(0x00, 0x20)
        }
    }

    function digest(bytes32 separator, bytes32 hashStruct) internal pure returns (bytes32 d) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, hex"1901")
            mstore(add(p, 0x02), separator)
            mstore(add(p, 0x22), hashStruct)
            d := keccak256(p, 0x42)
        }
    }
}
