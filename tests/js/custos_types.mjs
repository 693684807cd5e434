// The EIP-712 domain and types of docs/attestation.md (§2, §3, §16), written out here for
// the independent cross-checks rather than taken from the documents they check, so a wrong
// type list in an export cannot go unnoticed. Shared by the scripts of this folder; no
// Custos code.
export const DOMAIN_NAME = "Custos Collateral Attestation";
export const DOMAIN_VERSION = "1";

export const ATTESTATION_FIELDS = [
    { name: "account", type: "bytes32" },
    { name: "beneficiary", type: "address" },
    { name: "kind", type: "uint8" },
    { name: "grossValue", type: "uint256" },
    { name: "collateralValue", type: "uint256" },
    { name: "positionsRoot", type: "bytes32" },
    { name: "asOf", type: "uint64" },
    { name: "validUntil", type: "uint64" },
    { name: "sequence", type: "uint64" },
];
export const attestationTypes = { CollateralAttestation: ATTESTATION_FIELDS };

export const batchTypes = {
    CollateralBatch: [
        { name: "feedId", type: "bytes32" },
        { name: "accountsRoot", type: "bytes32" },
        { name: "count", type: "uint32" },
        { name: "asOf", type: "uint64" },
        { name: "validUntil", type: "uint64" },
        { name: "sequence", type: "uint64" },
    ],
};

// An attestation's kind as the exports name it, and its uint8.
export const KINDS = { valuation: 0, release: 1, freeze: 2 };
