// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20Mock} from "@morpho-org/morpho-blue/src/mocks/ERC20Mock.sol";
import {IMorpho, Id, MarketParams, Position} from "@morpho-org/morpho-blue/src/interfaces/IMorpho.sol";

import {CustosFixture} from "./CustosFixture.sol";
import {Attestation} from "../../src/CustosTypes.sol";
import {CustosPledges, ICustosAdapterView} from "../../src/lending/CustosPledges.sol";
import {CustosPledgeFactory} from "../../src/lending/CustosPledgeFactory.sol";
import {CustosReceipt} from "../../src/lending/CustosReceipt.sol";

/// Morpho's ERC20Mock (no decimals) with the decimals a loan token declares.
contract LoanToken is ERC20Mock {
    uint8 public immutable decimals;

    constructor(uint8 decimals_) {
        decimals = decimals_;
    }
}

/// The adapter fixture, plus Morpho Blue deployed from its unmodified 0.8.19 build
/// (out-morpho, with its own IrmMock), CustosPledges installed in the adapter, and
/// helpers to make pledges and attest to a market.
abstract contract LendingFixture is CustosFixture {
    IMorpho internal morpho;
    address internal irm;
    CustosPledges internal pledges;
    CustosPledgeFactory internal factory;

    uint256 internal constant LLTV = 0.8e18;
    uint256 internal constant PK_LENDER = 0x1E4D;
    address internal lender;
    address internal constant BORROWER = address(0xB044);
    address internal constant AGENT = address(0xA6E7);
    address internal constant SUPPLIER = address(0x5A99);
    address internal constant OUTSIDER = address(0x0BAD);

    function setUp() public virtual override {
        super.setUp();
        lender = vm.addr(PK_LENDER);
        morpho = IMorpho(_deployMorphoArtifact("Morpho.sol/Morpho.json", abi.encode(address(this))));
        irm = _deployMorphoArtifact("IrmMock.sol/IrmMock.json", "");
        morpho.enableIrm(irm);
        morpho.enableLltv(LLTV);
        factory = new CustosPledgeFactory();
        pledges = new CustosPledges(ICustosAdapterView(address(adapter)), factory);
        vm.prank(OWNER);
        adapter.installPledges(address(pledges));
    }

    function _deployMorphoArtifact(string memory artifact, bytes memory args) internal returns (address a) {
        string memory json = vm.readFile(string.concat("out-morpho/", artifact));
        bytes memory code = bytes.concat(vm.parseJsonBytes(json, ".bytecode.object"), args);
        assembly ("memory-safe") {
            a := create(0, add(code, 0x20), mload(code))
        }
        assertTrue(a != address(0), artifact);
    }

    function _terms(bytes32 account, address loanToken) internal view returns (CustosPledges.Terms memory t) {
        t = CustosPledges.Terms({
            account: account,
            beneficiary: address(morpho),
            borrower: BORROWER,
            lender: lender,
            agent: AGENT,
            loanToken: loanToken,
            irm: irm,
            lltv: LLTV,
            createMarket: true
        });
    }

    function _createPledge(CustosPledges.Terms memory t) internal returns (CustosReceipt r, MarketParams memory mp) {
        vm.prank(OWNER);
        (address receipt, address oracle, bytes32 id) = pledges.createPledge(t);
        r = CustosReceipt(receipt);
        mp = MarketParams({loanToken: t.loanToken, collateralToken: receipt, oracle: oracle, irm: t.irm, lltv: t.lltv});
        assertEq(Id.unwrap(_id(mp)), id, "market id");
    }

    function _id(MarketParams memory mp) internal pure returns (Id) {
        return Id.wrap(keccak256(abi.encode(mp)));
    }

    /// A fresh attestation of `account` for `beneficiary`, signed by what its feed needs.
    function _attest(bytes32 account, address beneficiary, uint8 kind, uint64 sequence, uint256 value) internal {
        Attestation memory a = _valuation(sequence, value);
        a.account = account;
        a.beneficiary = beneficiary;
        a.kind = kind;
        adapter.submit(_feedOf(account), a, _signFor(account, a));
    }

    /// The same submit, expecting it to revert with `err`.
    function _attestReverts(bytes32 account, address beneficiary, uint8 kind, uint64 sequence, bytes memory err)
        internal
    {
        Attestation memory a = _valuation(sequence, 0);
        a.account = account;
        a.beneficiary = beneficiary;
        a.kind = kind;
        bytes memory sigs = _signFor(account, a);
        vm.expectRevert(err);
        adapter.submit(_feedOf(account), a, sigs);
    }

    function _feedOf(bytes32 account) internal pure returns (bytes32) {
        return account == ACCOUNT_B ? FEED_B : FEED_A;
    }

    function _signFor(bytes32 account, Attestation memory a) internal view returns (bytes memory) {
        if (account == ACCOUNT_B) return _sign(a, _keys(PK_BANK_B));
        if (a.kind == 2) return _sign(a, _keys(PK_CUSTODIAN));
        return _sign(a, _keys(PK_CUSTODIAN, PK_AGENT));
    }

    function _collateral(MarketParams memory mp, address who) internal view returns (uint256) {
        Position memory p = morpho.position(_id(mp), who);
        return p.collateral;
    }

    function _borrowShares(MarketParams memory mp, address who) internal view returns (uint256) {
        Position memory p = morpho.position(_id(mp), who);
        return p.borrowShares;
    }

    function _morphoError(string memory reason) internal pure returns (bytes memory) {
        return abi.encodeWithSignature("Error(string)", reason);
    }
}
