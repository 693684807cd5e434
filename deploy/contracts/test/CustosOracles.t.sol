// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20Mock} from "@morpho-org/morpho-blue/src/mocks/ERC20Mock.sol";

import {LendingFixture, LoanToken} from "./utils/LendingFixture.sol";
import {Attestation} from "../src/CustosTypes.sol";
import {CustosPledges} from "../src/lending/CustosPledges.sol";
import {CustosMorphoOracle} from "../src/lending/CustosMorphoOracle.sol";
import {CustosReceiptFeed} from "../src/lending/CustosReceiptFeed.sol";

/// The receipt's prices: the Morpho oracle's scale for loan tokens of any decimals, the
/// 8-decimal source, and every case in which both must answer 0.
contract CustosOraclesTest is LendingFixture {
    uint8 internal constant RELEASE = 1;
    uint8 internal constant FREEZE = 2;

    CustosMorphoOracle internal oracle;
    CustosReceiptFeed internal feed;
    address internal receipt;

    struct Scale {
        uint8 decimals;
        uint256 value;
        uint256 price; // written out by hand: value * 10^decimals
    }

    function setUp() public override {
        super.setUp();
        _pledge(ACCOUNT_1, address(new LoanToken(6)));
    }

    function _pledge(bytes32 account, address loanToken) internal {
        CustosPledges.Terms memory t = _terms(account, loanToken);
        t.createMarket = false;
        vm.prank(OWNER);
        (address r, address o,) = pledges.createPledge(t);
        receipt = r;
        oracle = CustosMorphoOracle(o);
        feed = CustosReceiptFeed(pledges.createReceiptFeed(account, address(morpho)));
    }

    /// price = value * 10^d: $1,000,000 in a 6-decimal token is 1e30 (1e18 receipt units
    /// are worth 1e30 * 1e18 / 1e36 = 1e12 units, i.e. 1,000,000.000000).
    function test_MorphoPriceScale() public {
        Scale[6] memory rows = [
            Scale(6, 1_000_000e18, 1e30),
            Scale(18, 1_000_000e18, 1e42),
            Scale(0, 1_000_000e18, 1e24),
            Scale(8, 1, 1e8),
            Scale(6, 123_456_789_012_345_678_901_234_567, 123_456_789_012_345_678_901_234_567_000_000),
            Scale(36, 1e22, 1e58)
        ];
        for (uint256 i; i < rows.length; i++) {
            bytes32 account = keccak256(abi.encode("scale", i));
            vm.prank(OWNER);
            adapter.registerAccount(account, FEED_B);
            _pledge(account, address(new LoanToken(rows[i].decimals)));
            _attestAs(account, rows[i].value);
            assertEq(oracle.loanDecimals(), rows[i].decimals, "decimals");
            assertEq(oracle.price(), rows[i].price, "price");
        }
    }

    function _attestAs(bytes32 account, uint256 value) internal {
        Attestation memory a = _valuation(1, value);
        a.account = account;
        a.beneficiary = address(morpho);
        adapter.submit(FEED_B, a, _sign(a, _keys(PK_BANK_B)));
    }

    /// Above what Morpho can multiply by the receipt's supply, price() reverts: within the
    /// adapter's value bound (2^128 - 1) only for a loan token of many decimals.
    function test_MorphoPriceTooLargeReverts() public {
        bytes32 account = keccak256("price too large");
        vm.prank(OWNER);
        adapter.registerAccount(account, FEED_B);
        _pledge(account, address(new LoanToken(36)));
        _attestAs(account, 2e23);
        uint256 max = (type(uint256).max / 1e18) / 1e36;
        vm.expectRevert(abi.encodeWithSelector(CustosMorphoOracle.ValueTooLarge.selector, 2e23, max));
        oracle.price();
    }

    function test_LoanTokenDecimalsChecked() public {
        CustosPledges.Terms memory t = _terms(ACCOUNT_B, address(new LoanToken(37)));
        vm.prank(OWNER);
        vm.expectRevert(abi.encodeWithSelector(CustosMorphoOracle.UnsupportedDecimals.selector, t.loanToken, 37));
        pledges.createPledge(t);
        t.loanToken = address(new ERC20Mock()); // Morpho's mock has no decimals()
        vm.prank(OWNER);
        vm.expectRevert(abi.encodeWithSelector(CustosMorphoOracle.UnreadableDecimals.selector, t.loanToken));
        pledges.createPledge(t);
        t.loanToken = OUTSIDER; // no code
        vm.prank(OWNER);
        vm.expectRevert(abi.encodeWithSelector(CustosMorphoOracle.UnreadableDecimals.selector, OUTSIDER));
        pledges.createPledge(t);
    }

    /// The 8-decimal source: the whole account's value floored to 8 decimals, the round
    /// fields of the attestation, nothing for other rounds.
    function test_EightDecimalSource() public {
        _attest(ACCOUNT_1, address(morpho), 0, 7, 1_234_567.891234567890123456e18);
        assertEq(feed.decimals(), 8, "decimals");
        assertEq(feed.latestAnswer(), int256(123_456_789_123_456), "answer");
        (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound) =
            feed.latestRoundData();
        assertEq(uint256(roundId), 7, "roundId");
        assertEq(answer, int256(123_456_789_123_456), "answer");
        assertEq(startedAt, T0, "startedAt");
        assertEq(updatedAt, T0, "updatedAt");
        assertEq(uint256(answeredInRound), 7, "answeredInRound");
        assertEq(feed.latestRound(), 7, "latestRound");
        assertEq(feed.latestTimestamp(), T0, "latestTimestamp");
        feed.getRoundData(7);
        vm.expectRevert(abi.encodeWithSelector(CustosReceiptFeed.NoRoundData.selector, uint80(6)));
        feed.getRoundData(6);
        // keccak256("bank-a/account-1"), computed with ethers' id()
        assertEq(
            feed.description(),
            "Custos receipt 0x042219243b766e832e1dd437b31090f1b83ccce7f5ac1a5eb0be9cea8de35030 / USD",
            "description"
        );
    }

    function _bothZero(string memory why) internal view {
        assertEq(oracle.price(), 0, string.concat("morpho price: ", why));
        assertEq(feed.latestAnswer(), 0, string.concat("8-decimal answer: ", why));
    }

    function _bothCount(string memory why) internal view {
        assertTrue(oracle.price() != 0, string.concat("morpho price: ", why));
        assertTrue(feed.latestAnswer() != 0, string.concat("8-decimal answer: ", why));
    }

    function test_ZeroWithoutAttestation() public view {
        _bothZero("no attestation");
    }

    function test_ZeroWhenStale() public {
        Attestation memory a = _valuation(1, 1_000_000e18);
        a.beneficiary = address(morpho);
        a.validUntil = uint64(block.timestamp + MAX_TTL);
        _submit(a);
        vm.warp(block.timestamp + MAX_AGE);
        _bothCount("at maxAge");
        vm.warp(block.timestamp + 1);
        _bothZero("older than maxAge");
    }

    function test_ZeroWhenExpired() public {
        _attest(ACCOUNT_1, address(morpho), 0, 1, 1_000_000e18);
        vm.warp(block.timestamp + 1 days - 1);
        _bothCount("before validUntil");
        vm.warp(block.timestamp + 1);
        _bothZero("at validUntil");
    }

    function test_ZeroWhenFrozen() public {
        _attest(ACCOUNT_1, address(morpho), 0, 1, 1_000_000e18);
        _attest(ACCOUNT_1, address(morpho), FREEZE, 2, 0);
        _bothZero("frozen");
        _attest(ACCOUNT_1, address(morpho), 0, 3, 1_000_000e18);
        _bothCount("freeze lifted by a new valuation");
    }

    function test_ZeroWhenReleased() public {
        _attest(ACCOUNT_1, address(morpho), 0, 1, 1_000_000e18);
        _attest(ACCOUNT_1, address(morpho), RELEASE, 2, 0);
        _bothZero("released");
    }

    function test_ZeroWhenPledgedElsewhere() public {
        _attest(ACCOUNT_1, MARKET_B, 0, 1, 1_000_000e18);
        _bothZero("pledged to another market");
    }

    /// After a release ends the pledge, a new pledge to the same market gets a new
    /// receipt; the old receipt and its prices stay at 0 whatever is attested later.
    function test_ZeroForTheReceiptOfAnEndedPledge() public {
        _attest(ACCOUNT_1, address(morpho), 0, 1, 1_000_000e18);
        _attest(ACCOUNT_1, address(morpho), RELEASE, 2, 0);
        CustosMorphoOracle oldOracle = oracle;
        CustosReceiptFeed oldFeed = feed;
        _pledge(ACCOUNT_1, address(new LoanToken(6)));
        _attest(ACCOUNT_1, address(morpho), 0, 3, 1_000_000e18);
        _bothCount("new pledge");
        assertEq(oldOracle.price(), 0, "old morpho price");
        assertEq(oldFeed.latestAnswer(), 0, "old 8-decimal answer");
    }
}
