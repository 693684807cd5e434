// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {StoredAttestation} from "../CustosTypes.sol";

/// The adapter's reads a notice is checked against.
interface ICustosNoticeAdapter {
    function domainSeparator() external view returns (bytes32);
    function accountFeedId(bytes32 account) external view returns (bytes32);
    function signer(bytes32 feedId, address key) external view returns (uint8 status, uint8 role, uint64 retiresAt);
    function latest(bytes32 account) external view returns (StoredAttestation memory);
}

/// @title CustosNotices
/// @notice The collateral manager's notices on-chain (docs/lending.md, docs/rules.md rule 19):
/// anyone may relay a CollateralNotice (docs/attestation.md §17) signed by a custodian of
/// the account's feed about the lender the account is pledged to; it is checked as the
/// gateway checks it and emitted as an event the lending market's keepers follow. It holds
/// no funds and changes nothing but the last sequence of each (account, lender): a notice
/// is the custodian's word, which the market's keepers and the custodian's liquidation
/// agent act on.
contract CustosNotices {
    /// The signed notice, field for field the EIP-712 struct of docs/attestation.md §17.
    struct Notice {
        bytes32 account;
        address lender;
        uint8 state; // 0 healthy, 1 margin return, 2 margin call, 3 liquidation
        uint32 ltvBps;
        uint256 exposure;
        uint256 collateralValue;
        uint64 deadline; // a margin call's cure deadline; 0 otherwise
        uint64 sequence;
    }

    bytes32 public constant NOTICE_TYPEHASH = keccak256(
        "CollateralNotice(bytes32 account,address lender,uint8 state,uint32 ltvBps,"
        "uint256 exposure,uint256 collateralValue,uint64 deadline,uint64 sequence)"
    );
    uint8 public constant STATE_MARGIN_CALL = 2;
    uint8 public constant STATE_MAX = 3;
    uint8 private constant KIND_RELEASE = 1;
    uint8 private constant ROLE_CUSTODIAN = 0;
    uint8 private constant SIGNER_ACTIVE = 1;
    uint256 private constant HALF_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    ICustosNoticeAdapter public immutable adapter;
    mapping(bytes32 account => mapping(address lender => uint64)) public lastSequence;

    /// The whole signed notice, and the custodian key that signed it.
    event CollateralNotice(bytes32 indexed account, address indexed lender, Notice notice, address signer);

    error MalformedNotice(string why);
    error NonCanonicalSignature();
    error BadSignature();
    error NotCustodian(address signer);
    error NotPledged(bytes32 account, address lender);
    error StaleSequence(uint64 last, uint64 got);

    constructor(ICustosNoticeAdapter adapter_) {
        adapter = adapter_;
    }

    /// @notice The digest the custodian signs: the adapter's EIP-712 domain.
    function digest(Notice calldata n) public view returns (bytes32) {
        return keccak256(
            abi.encodePacked(hex"1901", adapter.domainSeparator(), keccak256(abi.encode(NOTICE_TYPEHASH, n)))
        );
    }

    /// @notice Checks n and its 65-byte r||s||v signature and emits CollateralNotice.
    function publish(Notice calldata n, bytes calldata signature) external {
        if (n.state > STATE_MAX) revert MalformedNotice("state");
        if ((n.state == STATE_MARGIN_CALL) != (n.deadline != 0)) revert MalformedNotice("deadline");
        uint64 last = lastSequence[n.account][n.lender];
        if (n.sequence <= last) revert StaleSequence(last, n.sequence);
        StoredAttestation memory att = adapter.latest(n.account);
        if (att.kind == KIND_RELEASE || att.beneficiary != n.lender) revert NotPledged(n.account, n.lender);
        address who = _recover(digest(n), signature);
        _checkCustodian(att.feedId, who);
        lastSequence[n.account][n.lender] = n.sequence;
        emit CollateralNotice(n.account, n.lender, n, who);
    }

    /// An active custodian key of the feed (a key being rotated out until its deadline).
    function _checkCustodian(bytes32 feedId, address who) private view {
        (uint8 status, uint8 role, uint64 retiresAt) = adapter.signer(feedId, who);
        if (
            status != SIGNER_ACTIVE || role != ROLE_CUSTODIAN
                || (retiresAt != 0 && block.timestamp >= retiresAt)
        ) revert NotCustodian(who);
    }

    function _recover(bytes32 d, bytes calldata sig) private pure returns (address who) {
        if (sig.length != 65) revert MalformedNotice("signature");
        bytes32 r = bytes32(sig[0:32]);
        bytes32 s = bytes32(sig[32:64]);
        uint8 v = uint8(sig[64]);
        if (uint256(s) > HALF_ORDER || (v != 27 && v != 28)) revert NonCanonicalSignature();
        who = ecrecover(d, v, r, s);
        if (who == address(0)) revert BadSignature();
    }
}
