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

/// @notice What the adapter keeps of the latest accepted attestation of an account.
/// grossValue is not stored: it stays in the transaction's calldata, committed to by the
/// digest in the AttestationAccepted event, and no on-chain logic reads it.
struct StoredAttestation {
    bytes32 feedId;
    address beneficiary;
    uint8 kind;
    uint256 collateralValue;
    bytes32 positionsRoot;
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
