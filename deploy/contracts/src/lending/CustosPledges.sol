// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Id, IMorpho, MarketParams} from "@morpho-org/morpho-blue/src/interfaces/IMorpho.sol";
import {MorphoBalancesLib} from "@morpho-org/morpho-blue/src/libraries/periphery/MorphoBalancesLib.sol";

import {ICustosPledgeValue} from "./ICustosPledgeValue.sol";
import {ICustosReleaseGuard} from "./ICustosReleaseGuard.sol";
import {CustosReceipt} from "./CustosReceipt.sol";
import {CustosPledgeFactory} from "./CustosPledgeFactory.sol";

/// @notice What CustosPledges reads of the adapter it guards.
interface ICustosAdapterView {
    function owner() external view returns (address);
    function pledges() external view returns (address);
    function accountFeedId(bytes32 account) external view returns (bytes32);
    function accountRound(bytes32 account, address beneficiary)
        external
        view
        returns (uint64 sequence, uint256 answer, uint64 asOf);
}

/// @title CustosPledges
/// @notice The pledges of Custos accounts to lending markets (docs/rules.md rule 11; deploy/contracts/README.md, Lending).
/// A pledge (account, beneficiary) gets a collateral receipt (CustosReceipt), a Morpho
/// Blue oracle and market when it has a loan token, and on request an 8-decimal price
/// source for Aave v3 / SparkLend (CustosReceiptFeed). The adapter asks it to approve
/// every release: while the market reports exposure against the pledge, a release goes
/// through only with the lender's consent. See deploy/contracts/README.md.
contract CustosPledges is ICustosPledgeValue, ICustosReleaseGuard, EIP712 {
    /// What the adapter's owner decides when it makes a pledge; immutable afterwards.
    struct Terms {
        bytes32 account;
        address beneficiary; // the lending market that holds the receipt (Morpho: the singleton)
        address borrower;
        address lender; // the lender's authority: consents to a release while exposure remains
        address agent; // the custodian's liquidation agent
        address loanToken; // Morpho market's loan token; 0: no Morpho oracle or market
        address irm;
        uint256 lltv;
        bool createMarket; // also create the Morpho market (else only its id is recorded)
    }

    /// What a pledge is, as the gateway and the lender read it.
    struct PledgeView {
        address receipt;
        address oracle;
        address feed;
        bytes32 marketId;
        address borrower;
        address lender;
        address agent;
        bool ended;
        uint64 consentedSequence;
    }

    struct Pledge {
        // slot 0
        CustosReceipt receipt;
        uint64 consentedSequence; // the release the lender agreed to; 0 none
        bool ended;
        // slot 1
        address lender;
        // slot 2
        address oracle;
        // slot 3
        bytes32 marketId;
        // slot 4
        address feed;
    }

    bytes32 public constant CONSENT_TYPEHASH =
        keccak256("ReleaseConsent(bytes32 account,address beneficiary,address receipt,uint64 sequence,uint64 deadline)");

    ICustosAdapterView public immutable adapter;
    CustosPledgeFactory public immutable factory;

    mapping(bytes32 account => mapping(address beneficiary => Pledge)) private _pledges;

    event PledgeCreated(
        bytes32 indexed account,
        address indexed beneficiary,
        address receipt,
        address oracle,
        bytes32 marketId,
        address borrower,
        address lender,
        address agent
    );
    event ReceiptFeedCreated(bytes32 indexed account, address indexed beneficiary, address feed);
    event ReleaseConsented(bytes32 indexed account, address indexed beneficiary, uint64 sequence, bool bySignature);
    event PledgeEnded(bytes32 indexed account, address indexed beneficiary, uint64 sequence, bool consented);

    // creation
    error NotAdapterOwner(address caller);
    error NotInstalled(address adapterGuard);
    error UnknownAccount(bytes32 account);
    error InvalidParty(string role);
    error InvalidMarketTerms();
    error PledgeExists(bytes32 account, address beneficiary, address receipt);
    error FeedExists(address feed);
    // release and consent
    error NotAdapter(address caller);
    error NoPledge(bytes32 account, address beneficiary);
    error NotLender(address caller, address lender);
    error InvalidSequence();
    error ConsentExpired(uint64 deadline, uint256 now);
    error BadConsentSignature(address lender);
    error ExposureOutstanding(bytes32 account, address beneficiary, uint256 debt);
    error ReceiptsElsewhere(bytes32 account, address beneficiary, uint256 receipts);
    error ExposureUnknown(bytes32 account, address beneficiary);

    constructor(ICustosAdapterView adapter_, CustosPledgeFactory factory_) EIP712("Custos Pledges", "1") {
        adapter = adapter_;
        factory = factory_;
    }

    // ================================================================== creation

    /// @notice Makes a pledge: deploys its receipt (minted to the borrower) and, with a
    /// loan token, its Morpho oracle, records the Morpho market id and creates the market
    /// if asked. Only the adapter's owner, and only once this contract guards the
    /// adapter's releases. One live pledge per (account, beneficiary); after a release has
    /// ended it, a new pledge gets a new receipt and the old one stays worthless.
    function createPledge(Terms calldata t) external returns (address receipt, address oracle, bytes32 marketId) {
        if (msg.sender != adapter.owner()) revert NotAdapterOwner(msg.sender);
        address guard = adapter.pledges();
        if (guard != address(this)) revert NotInstalled(guard);
        if (adapter.accountFeedId(t.account) == bytes32(0)) revert UnknownAccount(t.account);
        _checkParties(t);
        Pledge storage p = _pledges[t.account][t.beneficiary];
        if (address(p.receipt) != address(0) && !p.ended) {
            revert PledgeExists(t.account, t.beneficiary, address(p.receipt));
        }

        receipt = factory.deployReceipt(this, t.account, t.beneficiary, t.borrower, t.agent);
        if (t.loanToken != address(0)) {
            if (t.beneficiary.code.length == 0) revert InvalidParty("beneficiary");
            oracle = factory.deployMorphoOracle(this, t.account, t.beneficiary, receipt, t.loanToken);
            MarketParams memory mp = MarketParams({
                loanToken: t.loanToken, collateralToken: receipt, oracle: oracle, irm: t.irm, lltv: t.lltv
            });
            marketId = keccak256(abi.encode(mp));
            if (t.createMarket) IMorpho(t.beneficiary).createMarket(mp);
        } else if (t.irm != address(0) || t.lltv != 0 || t.createMarket) {
            revert InvalidMarketTerms();
        }
        _pledges[t.account][t.beneficiary] = Pledge({
            receipt: CustosReceipt(receipt), consentedSequence: 0, ended: false, lender: t.lender, oracle: oracle, marketId: marketId,
            feed: address(0)
        });
        emit PledgeCreated(t.account, t.beneficiary, receipt, oracle, marketId, t.borrower, t.lender, t.agent);
    }

    /// @notice Deploys the 8-decimal price source of a live pledge's receipt (Aave v3,
    /// SparkLend). Anyone may: a source only reads.
    function createReceiptFeed(bytes32 account, address beneficiary) external returns (address feed) {
        Pledge storage p = _livePledge(account, beneficiary);
        if (p.feed != address(0)) revert FeedExists(p.feed);
        feed = factory.deployReceiptFeed(this, account, beneficiary, address(p.receipt));
        p.feed = feed;
        emit ReceiptFeedCreated(account, beneficiary, feed);
    }

    function _checkParties(Terms calldata t) private pure {
        if (t.beneficiary == address(0)) revert InvalidParty("beneficiary");
        if (t.borrower == address(0) || t.borrower == t.beneficiary) revert InvalidParty("borrower");
        // A borrower consenting to its own release would void rule 11.
        if (t.lender == address(0) || t.lender == t.borrower) revert InvalidParty("lender");
        if (t.agent == address(0) || t.agent == t.beneficiary || t.agent == t.borrower) revert InvalidParty("agent");
    }

    // ================================================================== consent

    /// @notice The lender agrees that the release with this sequence ends the pledge even
    /// while exposure remains. A later consent replaces an earlier one.
    function consentRelease(bytes32 account, address beneficiary, uint64 sequence) external {
        Pledge storage p = _livePledge(account, beneficiary);
        if (msg.sender != p.lender) revert NotLender(msg.sender, p.lender);
        _consent(p, account, beneficiary, sequence, false);
    }

    /// @notice The same consent signed by the lender (EIP-712 ReleaseConsent on this
    /// contract's domain; ERC-1271 for a contract lender), relayed by anyone until deadline.
    /// It names the pledge's receipt, so that it cannot serve a later pledge of the account.
    function consentReleaseWithSig(
        bytes32 account,
        address beneficiary,
        uint64 sequence,
        uint64 deadline,
        bytes calldata signature
    ) external {
        Pledge storage p = _livePledge(account, beneficiary);
        if (block.timestamp > deadline) revert ConsentExpired(deadline, block.timestamp);
        address lender = p.lender;
        bytes32 d = consentDigest(account, beneficiary, address(p.receipt), sequence, deadline);
        if (!SignatureChecker.isValidSignatureNow(lender, d, signature)) {
            revert BadConsentSignature(lender);
        }
        _consent(p, account, beneficiary, sequence, true);
    }

    /// @notice The EIP-712 digest a lender signs to consent to a release.
    function consentDigest(bytes32 account, address beneficiary, address receipt, uint64 sequence, uint64 deadline)
        public
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(
            keccak256(abi.encode(CONSENT_TYPEHASH, account, beneficiary, receipt, sequence, deadline))
        );
    }

    function _consent(Pledge storage p, bytes32 account, address beneficiary, uint64 sequence, bool bySig) private {
        if (sequence == 0) revert InvalidSequence();
        p.consentedSequence = sequence;
        emit ReleaseConsented(account, beneficiary, sequence, bySig);
    }

    // ================================================================== release

    /// @inheritdoc ICustosReleaseGuard
    function onRelease(bytes32 account, address beneficiary, uint64 sequence) external {
        if (msg.sender != address(adapter)) revert NotAdapter(msg.sender);
        Pledge storage p = _pledges[account][beneficiary];
        if (address(p.receipt) == address(0) || p.ended) return;
        bool consented = p.consentedSequence == sequence;
        if (!consented) {
            (uint256 debt, uint256 elsewhere, bool readable) = _exposure(p, beneficiary);
            if (!readable) revert ExposureUnknown(account, beneficiary);
            if (debt != 0) revert ExposureOutstanding(account, beneficiary, debt);
            if (elsewhere != 0) revert ReceiptsElsewhere(account, beneficiary, elsewhere);
        }
        p.ended = true;
        emit PledgeEnded(account, beneficiary, sequence, consented);
    }

    /// @notice Whether the adapter would refuse the release with this sequence now, and
    /// why: the borrower's debt in the pledge's market (loan-token units, interest accrued
    /// to now), receipts the market holds beyond the borrower's collateral in that market,
    /// or an exposure that cannot be read. Never blocked without a live pledge, or with
    /// the lender's consent to this sequence.
    function releaseBlocked(bytes32 account, address beneficiary, uint64 sequence)
        external
        view
        returns (bool blocked, uint256 debt, uint256 receiptsElsewhere, bool readable)
    {
        Pledge storage p = _pledges[account][beneficiary];
        if (address(p.receipt) == address(0) || p.ended) return (false, 0, 0, true);
        (debt, receiptsElsewhere, readable) = _exposure(p, beneficiary);
        blocked = p.consentedSequence != sequence && (!readable || debt != 0 || receiptsElsewhere != 0);
    }

    /// @dev Morpho exposure, read through an external self-call so that anything the
    /// market or its IRM reverts with counts as unreadable (fail closed). A pledge without
    /// a Morpho market has no exposure this contract can read.
    function _exposure(Pledge storage p, address beneficiary)
        private
        view
        returns (uint256 debt, uint256 elsewhere, bool readable)
    {
        bytes32 id = p.marketId;
        if (id == bytes32(0)) return (0, 0, false);
        // Receipts taken out of the market earlier in this transaction (a flash loan of
        // the receipt, a withdrawal) may go back after the release: the balance read now
        // would miss receipts that back another market.
        if (p.receipt.leftMarketThisTransaction()) return (0, 0, false);
        try this.morphoExposure(beneficiary, id, p.receipt.borrower(), address(p.receipt)) returns (
            uint256 d, uint256 e
        ) {
            return (d, e, true);
        } catch {
            return (0, 0, false);
        }
    }

    /// @notice A borrower's debt in a Morpho market with interest accrued to now
    /// (MorphoBalancesLib, rounded up as Morpho does), and the receipts Morpho holds
    /// beyond the borrower's collateral in that market (supplied to another market, or on
    /// another position's behalf: collateral this pledge cannot see the debt of).
    function morphoExposure(address morpho, bytes32 marketId, address borrower, address receipt)
        external
        view
        returns (uint256 debt, uint256 elsewhere)
    {
        IMorpho m = IMorpho(morpho);
        Id id = Id.wrap(marketId);
        MarketParams memory mp = m.idToMarketParams(id);
        // A market never created has no debt; idToMarketParams is then all zero.
        if (mp.collateralToken == receipt) debt = MorphoBalancesLib.expectedBorrowAssets(m, mp, borrower);
        uint256 held = IERC20(receipt).balanceOf(morpho);
        uint256 own = m.position(id, borrower).collateral;
        if (held > own) elsewhere = held - own;
    }

    // ================================================================== reads

    /// @inheritdoc ICustosPledgeValue
    function receiptValue(bytes32 account, address beneficiary, address receipt)
        external
        view
        returns (uint64 sequence, uint256 value, uint64 asOf)
    {
        (sequence, value, asOf) = adapter.accountRound(account, beneficiary);
        Pledge storage p = _pledges[account][beneficiary];
        if (address(p.receipt) != receipt || p.ended) value = 0;
    }

    /// @notice The pledge (account, beneficiary): the latest one, live or ended.
    function pledge(bytes32 account, address beneficiary) external view returns (PledgeView memory v) {
        Pledge storage p = _pledges[account][beneficiary];
        CustosReceipt r = p.receipt;
        if (address(r) == address(0)) revert NoPledge(account, beneficiary);
        v = PledgeView({
            receipt: address(r),
            oracle: p.oracle,
            feed: p.feed,
            marketId: p.marketId,
            borrower: r.borrower(),
            lender: p.lender,
            agent: r.agent(),
            ended: p.ended,
            consentedSequence: p.consentedSequence
        });
    }

    function _livePledge(bytes32 account, address beneficiary) private view returns (Pledge storage p) {
        p = _pledges[account][beneficiary];
        if (address(p.receipt) == address(0) || p.ended) revert NoPledge(account, beneficiary);
    }
}
