// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IMorpho, Market, MarketParams} from "@morpho-org/morpho-blue/src/interfaces/IMorpho.sol";
import {IMorphoFlashLoanCallback} from "@morpho-org/morpho-blue/src/interfaces/IMorphoCallbacks.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IOracle} from "@morpho-org/morpho-blue/src/interfaces/IOracle.sol";

import {LendingFixture, LoanToken} from "./utils/LendingFixture.sol";
import {CustosPledges} from "../src/lending/CustosPledges.sol";
import {CustosReceipt} from "../src/lending/CustosReceipt.sol";
import {CustosAdapter} from "../src/CustosAdapter.sol";
import {Attestation} from "../src/CustosTypes.sol";

/// A fixed-price oracle, as anyone may give a second Morpho market using the receipt.
contract FixedOracle is IOracle {
    uint256 public immutable price;

    constructor(uint256 price_) {
        price = price_;
    }
}

/// A borrower that is a contract: it supplies its receipt to Morpho markets, and can
/// flash-loan receipts from Morpho and run a call (a release) while it holds them.
contract FlashBorrower is IMorphoFlashLoanCallback {
    IMorpho internal immutable morpho;
    address internal token;
    address internal target;
    bytes internal callData;

    constructor(IMorpho morpho_) {
        morpho = morpho_;
    }

    function supplyCollateral(MarketParams memory m, uint256 amount) external {
        IERC20(m.collateralToken).approve(address(morpho), amount);
        morpho.supplyCollateral(m, amount, address(this), "");
    }

    function flashAndCall(address token_, uint256 amount, address target_, bytes calldata data) external {
        token = token_;
        target = target_;
        callData = data;
        morpho.flashLoan(token_, amount, "x");
    }

    function onMorphoFlashLoan(uint256 assets, bytes calldata) external {
        (bool ok, bytes memory ret) = target.call(callData);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 32), mload(ret))
            }
        }
        IERC20(token).approve(address(morpho), assets);
    }
}

/// Morpho Blue itself (the unmodified 0.8.19 build) lending against a Custos receipt:
/// borrowing up to the LLTV, health after a value change and a freeze, who may
/// liquidate, and releases against the market's exposure (rule 11).
/// Each call of a test is its own transaction (isolate), as on a chain: the receipt's
/// transient record of receipts leaving the market lasts one transaction.
/// forge-config: default.isolate = true
contract CustosMorphoTest is LendingFixture {
    uint256 internal constant V = 1_000_000e18; // $1,000,000
    uint8 internal constant RELEASE = 1;
    uint8 internal constant FREEZE = 2;

    LoanToken internal usdc; // 6 decimals
    LoanToken internal dai; // 18 decimals
    CustosReceipt internal receipt;
    MarketParams internal mp;
    uint64 internal seq;

    function setUp() public override {
        super.setUp();
        usdc = new LoanToken(6);
        dai = new LoanToken(18);
        (receipt, mp) = _createPledge(_terms(ACCOUNT_1, address(usdc)));
        _value(V);
        _supplyLiquidity(mp, 2_000_000e6);
        _supplyReceipt(receipt, mp);
    }

    function _value(uint256 v) internal {
        _attest(ACCOUNT_1, address(morpho), 0, ++seq, v);
    }

    function _supplyLiquidity(MarketParams memory m, uint256 amount) internal {
        LoanToken(m.loanToken).setBalance(SUPPLIER, amount);
        vm.startPrank(SUPPLIER);
        LoanToken(m.loanToken).approve(address(morpho), amount);
        morpho.supply(m, amount, 0, SUPPLIER, "");
        vm.stopPrank();
    }

    function _supplyReceipt(CustosReceipt r, MarketParams memory m) internal {
        vm.startPrank(BORROWER);
        r.approve(address(morpho), 1e18);
        morpho.supplyCollateral(m, 1e18, BORROWER, "");
        vm.stopPrank();
    }

    function _borrow(MarketParams memory m, uint256 assets) internal {
        vm.prank(BORROWER);
        morpho.borrow(m, assets, 0, BORROWER, BORROWER);
    }

    function _borrowReverts(MarketParams memory m, uint256 assets, bytes memory err) internal {
        vm.prank(BORROWER);
        vm.expectRevert(err);
        morpho.borrow(m, assets, 0, BORROWER, BORROWER);
    }

    // ------------------------------------------------------------------ borrowing

    /// $1,000,000 at an 80% LLTV lends 800,000 USDC (6 decimals): Morpho's own health
    /// check, fed the receipt's price, allows exactly that and not one unit more.
    function test_BorrowUpToLltv_6Decimals() public {
        _borrow(mp, 800_000e6);
        assertEq(usdc.balanceOf(BORROWER), 800_000e6, "borrowed");
        _borrowReverts(mp, 1, _morphoError("insufficient collateral"));
    }

    /// The same with an 18-decimal loan token, on another account and its own pledge.
    function test_BorrowUpToLltv_18Decimals() public {
        (CustosReceipt r, MarketParams memory m) = _createPledge(_terms(ACCOUNT_B, address(dai)));
        _attest(ACCOUNT_B, address(morpho), 0, 1, 250_000e18);
        _supplyLiquidity(m, 1_000_000e18);
        _supplyReceipt(r, m);
        _borrow(m, 200_000e18);
        assertEq(dai.balanceOf(BORROWER), 200_000e18, "borrowed");
        _borrowReverts(m, 1, _morphoError("insufficient collateral"));
    }

    function test_BorrowMoreThanLltvReverts() public {
        _borrowReverts(mp, 800_000e6 + 1, _morphoError("insufficient collateral"));
    }

    /// Half the value: the 800,000 borrowed is now over the LLTV; the borrower can
    /// neither borrow nor withdraw, and the position can be liquidated (by the agent).
    function test_LowerValueMakesPositionUnhealthy() public {
        _borrow(mp, 800_000e6);
        _value(V / 2);
        _borrowReverts(mp, 1, _morphoError("insufficient collateral"));
        vm.prank(BORROWER);
        vm.expectRevert(_morphoError("insufficient collateral"));
        morpho.withdrawCollateral(mp, 1, BORROWER, BORROWER);
        _fundAgent(100_000e6);
        vm.prank(AGENT);
        morpho.liquidate(mp, BORROWER, 0.1e18, 0, "");
        assertEq(receipt.balanceOf(AGENT), 0.1e18, "agent seized");
    }

    /// A freeze (custodian alone) voids the value at once: no more borrowing, and the
    /// collateral cannot be withdrawn while debt remains.
    function test_FreezeBlocksBorrowAndCollateralWithdrawal() public {
        _borrow(mp, 400_000e6);
        _attest(ACCOUNT_1, address(morpho), FREEZE, ++seq, 0);
        assertEq(IOracle(mp.oracle).price(), 0, "frozen price");
        _borrowReverts(mp, 1, _morphoError("insufficient collateral"));
        vm.prank(BORROWER);
        vm.expectRevert(_morphoError("insufficient collateral"));
        morpho.withdrawCollateral(mp, 1, BORROWER, BORROWER);
    }

    // ------------------------------------------------------------------ liquidation

    function _fundAgent(uint256 amount) internal {
        usdc.setBalance(AGENT, amount);
        vm.prank(AGENT);
        usdc.approve(address(morpho), amount);
    }

    /// Anyone else's liquidation of an unhealthy position reverts: Morpho's transfer of
    /// the seized receipt to them does (TransferRestricted, reported by Morpho as
    /// "transfer reverted"), for any amount, even none.
    function test_ThirdPartyLiquidateReverts() public {
        _borrow(mp, 800_000e6);
        _value(V / 2);
        usdc.setBalance(OUTSIDER, 1_000_000e6);
        vm.startPrank(OUTSIDER);
        usdc.approve(address(morpho), type(uint256).max);
        vm.expectRevert(_morphoError("transfer reverted"));
        morpho.liquidate(mp, BORROWER, 0.1e18, 0, "");
        vm.expectRevert(_morphoError("transfer reverted"));
        morpho.liquidate(mp, BORROWER, 1, 0, "");
        vm.stopPrank();
        assertEq(_collateral(mp, BORROWER), 1e18, "collateral untouched");
    }

    /// At a price of 0 Morpho's liquidate would hand collateral over for nothing (and
    /// write the debt off as bad debt): the receipt refuses the seizure, so neither the
    /// agent nor anyone else can; repaying by shares divides by the price and reverts.
    function test_NoLiquidationAtZeroPrice() public {
        _borrow(mp, 400_000e6);
        _attest(ACCOUNT_1, address(morpho), FREEZE, ++seq, 0);
        _fundAgent(400_000e6);
        vm.startPrank(AGENT);
        vm.expectRevert(_morphoError("transfer reverted"));
        morpho.liquidate(mp, BORROWER, 1e18, 0, "");
        vm.expectRevert();
        morpho.liquidate(mp, BORROWER, 0, 1, "");
        vm.stopPrank();
        vm.prank(OUTSIDER);
        vm.expectRevert(_morphoError("transfer reverted"));
        morpho.liquidate(mp, BORROWER, 1e18, 0, "");
        assertEq(_collateral(mp, BORROWER), 1e18, "collateral untouched");
        assertTrue(_borrowShares(mp, BORROWER) != 0, "debt untouched");
    }

    /// The custodian's path on a frozen pledge: the agent repays the whole debt on the
    /// borrower's behalf from the collateral's proceeds; exposure is then 0, the release
    /// goes through without the lender, and the receipt is worth nothing for ever after.
    function test_AgentRepaysFrozenLoanThenReleaseGoesThrough() public {
        _borrow(mp, 400_000e6);
        _attest(ACCOUNT_1, address(morpho), FREEZE, ++seq, 0);
        _releaseRefused(abi.encodeWithSelector(CustosPledges.ExposureOutstanding.selector, ACCOUNT_1, address(morpho), 400_000e6));

        _fundAgent(400_001e6);
        uint256 shares = _borrowShares(mp, BORROWER);
        vm.prank(AGENT);
        morpho.repay(mp, 0, shares, BORROWER, "");
        assertEq(_borrowShares(mp, BORROWER), 0, "debt repaid");
        (bool blocked, uint256 debt,,) = pledges.releaseBlocked(ACCOUNT_1, address(morpho), seq + 1);
        assertTrue(!blocked && debt == 0, "not blocked once repaid");

        _attest(ACCOUNT_1, address(morpho), RELEASE, ++seq, 0);
        assertTrue(pledges.pledge(ACCOUNT_1, address(morpho)).ended, "pledge ended");
        // Even a new valuation for the same market does not revive the old receipt.
        _value(V);
        assertEq(IOracle(mp.oracle).price(), 0, "old receipt worthless");
        // The borrower, without debt, takes its (worthless) receipt back.
        vm.prank(BORROWER);
        morpho.withdrawCollateral(mp, 1e18, BORROWER, BORROWER);
        assertEq(receipt.balanceOf(BORROWER), 1e18, "receipt back");
    }

    /// While the price is above 0 and the position unhealthy, the agent may liquidate
    /// into itself, repaying the whole debt; the release then needs no consent.
    function test_AgentLiquidatesToZeroDebtThenReleaseGoesThrough() public {
        _borrow(mp, 800_000e6);
        _value(900_000e18);
        _fundAgent(800_001e6);
        uint256 shares = _borrowShares(mp, BORROWER);
        vm.prank(AGENT);
        (uint256 seized,) = morpho.liquidate(mp, BORROWER, 0, shares, "");
        assertEq(_borrowShares(mp, BORROWER), 0, "debt liquidated");
        assertEq(receipt.balanceOf(AGENT), seized, "seized into the agent");
        assertTrue(seized < 1e18, "part of the collateral");
        _attest(ACCOUNT_1, address(morpho), RELEASE, ++seq, 0);
        assertTrue(pledges.pledge(ACCOUNT_1, address(morpho)).ended, "pledge ended");
    }

    // ------------------------------------------------------------------ release and consent

    function _releaseRefused(bytes memory err) internal {
        _attestReverts(ACCOUNT_1, address(morpho), RELEASE, seq + 1, err);
    }

    function test_ReleaseRefusedWithDebtAcceptedAfterLenderConsent() public {
        _borrow(mp, 300_000e6);
        _releaseRefused(abi.encodeWithSelector(CustosPledges.ExposureOutstanding.selector, ACCOUNT_1, address(morpho), 300_000e6));
        // Consent to another release does not cover this one.
        vm.prank(lender);
        pledges.consentRelease(ACCOUNT_1, address(morpho), seq + 2);
        _releaseRefused(abi.encodeWithSelector(CustosPledges.ExposureOutstanding.selector, ACCOUNT_1, address(morpho), 300_000e6));
        vm.prank(lender);
        pledges.consentRelease(ACCOUNT_1, address(morpho), seq + 1);
        _attest(ACCOUNT_1, address(morpho), RELEASE, ++seq, 0);
        assertTrue(pledges.pledge(ACCOUNT_1, address(morpho)).ended, "pledge ended");
        assertEq(IOracle(mp.oracle).price(), 0, "receipt worthless after release");
    }

    function test_ReleaseAcceptedAfterSignedConsentRelayedByAnyone() public {
        _borrow(mp, 300_000e6);
        uint64 release = seq + 1;
        uint64 deadline = uint64(block.timestamp + 1 hours);
        bytes32 d = pledges.consentDigest(ACCOUNT_1, address(morpho), address(receipt), release, deadline);
        bytes memory wrong = _sig(PK_OUTSIDER, d);
        vm.expectRevert(abi.encodeWithSelector(CustosPledges.BadConsentSignature.selector, lender));
        pledges.consentReleaseWithSig(ACCOUNT_1, address(morpho), release, deadline, wrong);
        bytes memory sig = _sig(PK_LENDER, d);
        vm.prank(OUTSIDER);
        pledges.consentReleaseWithSig(ACCOUNT_1, address(morpho), release, deadline, sig);
        _attest(ACCOUNT_1, address(morpho), RELEASE, ++seq, 0);
        assertTrue(pledges.pledge(ACCOUNT_1, address(morpho)).ended, "pledge ended");
    }

    /// Debt grows with interest; the exposure read counts it up to now, as Morpho will.
    function test_ExposureCountsAccruedInterest() public {
        _borrow(mp, 800_000e6);
        vm.warp(block.timestamp + 30 days);
        (bool blocked, uint256 debt,,) = pledges.releaseBlocked(ACCOUNT_1, address(morpho), seq + 1);
        assertTrue(blocked, "blocked");
        assertTrue(debt > 800_000e6, "interest accrued");
        morpho.accrueInterest(mp);
        Market memory m = morpho.market(_id(mp));
        uint256 totalBorrowAssets = m.totalBorrowAssets;
        uint256 totalBorrowShares = m.totalBorrowShares;
        // Morpho's own conversion (SharesMathLib.toAssetsUp, virtual shares 1e6 and asset 1).
        uint256 shares = _borrowShares(mp, BORROWER);
        uint256 want = (shares * (totalBorrowAssets + 1) + totalBorrowShares + 1e6 - 1) / (totalBorrowShares + 1e6);
        assertEq(debt, want, "debt with interest");
    }

    /// Receipts in another Morpho market (whose debt this pledge cannot see) are exposure.
    function test_ReleaseRefusedWhileReceiptsBackAnotherMarket() public {
        vm.prank(BORROWER);
        morpho.withdrawCollateral(mp, 0.5e18, BORROWER, BORROWER);
        MarketParams memory other = MarketParams({
            loanToken: address(dai), collateralToken: address(receipt), oracle: address(new FixedOracle(1e36)),
            irm: irm, lltv: LLTV
        });
        morpho.createMarket(other);
        vm.startPrank(BORROWER);
        receipt.approve(address(morpho), 0.5e18);
        morpho.supplyCollateral(other, 0.5e18, BORROWER, "");
        vm.stopPrank();
        _releaseRefused(abi.encodeWithSelector(CustosPledges.ReceiptsElsewhere.selector, ACCOUNT_1, address(morpho), 0.5e18));
    }

    /// Taking the receipts that back another market out of Morpho for the length of a
    /// flash loan would hide them from the balance read; a release in that transaction is
    /// refused as unreadable.
    function test_ReleaseInsideAFlashLoanOfTheReceiptRefused() public {
        FlashBorrower fb = new FlashBorrower(morpho);
        CustosPledges.Terms memory t = _terms(ACCOUNT_B, address(dai));
        t.borrower = address(fb);
        (CustosReceipt r, MarketParams memory m) = _createPledge(t);
        _attest(ACCOUNT_B, address(morpho), 0, 1, 250_000e18);
        MarketParams memory other = MarketParams({
            loanToken: address(usdc), collateralToken: address(r), oracle: address(new FixedOracle(1e36)),
            irm: irm, lltv: LLTV
        });
        morpho.createMarket(other);
        fb.supplyCollateral(m, 0.5e18);
        fb.supplyCollateral(other, 0.5e18);

        Attestation memory a = _valuation(2, 0);
        a.account = ACCOUNT_B;
        a.beneficiary = address(morpho);
        a.kind = RELEASE;
        bytes memory submit = abi.encodeCall(CustosAdapter.submit, (FEED_B, a, _sign(a, _keys(PK_BANK_B))));
        vm.expectRevert(abi.encodeWithSelector(CustosPledges.ReceiptsElsewhere.selector, ACCOUNT_B, address(morpho), 0.5e18));
        (bool ok,) = address(adapter).call(submit);
        ok;
        // With 0.5 flash-loaned, Morpho's balance equals the position in the pledge's market.
        vm.expectRevert(abi.encodeWithSelector(CustosPledges.ExposureUnknown.selector, ACCOUNT_B, address(morpho)));
        fb.flashAndCall(address(r), 0.5e18, address(adapter), submit);
    }

    /// No debt and no receipts elsewhere: the custodian and borrower end the pledge alone.
    function test_ReleaseWithoutExposureNeedsNoConsent() public {
        (bool blocked,,, bool readable) = pledges.releaseBlocked(ACCOUNT_1, address(morpho), seq + 1);
        assertTrue(!blocked && readable, "not blocked");
        _attest(ACCOUNT_1, address(morpho), RELEASE, ++seq, 0);
        assertTrue(pledges.pledge(ACCOUNT_1, address(morpho)).ended, "pledge ended");
    }
}
