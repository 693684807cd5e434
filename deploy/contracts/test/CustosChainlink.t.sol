// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

import {CustosFixture} from "./utils/CustosFixture.sol";
import {CustosAdapter} from "../src/CustosAdapter.sol";
import {CustosAccountFeed} from "../src/CustosAccountFeed.sol";
import {Attestation} from "../src/CustosTypes.sol";

/// A lending-market oracle written only against Chainlink's AggregatorV3Interface, the
/// way Spark/Aave-style markets consume price feeds: positive answer, bounded age.
contract ChainlinkStyleConsumer {
    AggregatorV3Interface public immutable source;
    uint256 public immutable maxDelay;

    error BadAnswer(int256 answer);
    error TooOld(uint256 updatedAt);

    constructor(AggregatorV3Interface source_, uint256 maxDelay_) {
        source = source_;
        maxDelay = maxDelay_;
    }

    /// Collateral value in USD with 8 decimals.
    function collateralUsd8() external view returns (uint256) {
        (uint80 roundId, int256 answer,, uint256 updatedAt, uint80 answeredInRound) = source.latestRoundData();
        if (answer <= 0 || answeredInRound < roundId) revert BadAnswer(answer);
        if (block.timestamp - updatedAt > maxDelay) revert TooOld(updatedAt);
        return uint256(answer) / 10 ** (source.decimals() - 8);
    }
}

contract CustosChainlinkTest is CustosFixture {
    uint256 internal constant V = 123_456_789e18;

    function _feed() internal returns (AggregatorV3Interface) {
        return AggregatorV3Interface(adapter.createAccountFeed(ACCOUNT_1, MARKET_A));
    }

    function test_ConsumerReadsValue() public {
        AggregatorV3Interface f = _feed();
        ChainlinkStyleConsumer c = new ChainlinkStyleConsumer(f, 2 days);
        Attestation memory a = _valuation(3, V);
        _submit(a);
        vm.warp(T0 + 1 hours);
        assertEq(c.collateralUsd8(), 123_456_789e8, "consumer value");

        (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound) =
            f.latestRoundData();
        assertEq(roundId, 3, "roundId = sequence");
        assertEq(answer, int256(V), "answer");
        assertEq(startedAt, a.asOf, "startedAt = asOf");
        assertEq(updatedAt, a.asOf, "updatedAt = asOf");
        assertEq(answeredInRound, 3, "answeredInRound");
        assertEq(f.decimals(), 18, "decimals");
        assertEq(f.version(), 1, "version");
        assertEq(
            f.description(),
            "Custos collateral 0x042219243b766e832e1dd437b31090f1b83ccce7f5ac1a5eb0be9cea8de35030 / USD",
            "description"
        );
        (roundId, answer,,,) = f.getRoundData(3);
        assertEq(answer, int256(V), "getRoundData(latest)");
        vm.expectRevert(abi.encodeWithSelector(CustosAccountFeed.NoRoundData.selector, uint80(2)));
        f.getRoundData(2);
        CustosAccountFeed cf = CustosAccountFeed(address(f));
        assertEq(cf.latestAnswer(), int256(V), "latestAnswer");
        assertEq(cf.latestTimestamp(), a.asOf, "latestTimestamp");
        assertEq(cf.latestRound(), 3, "latestRound");
    }

    /// An attestation may be up to maxSkew ahead of the chain's clock. The consumer above
    /// computes block.timestamp - updatedAt, which underflowed (a revert) while asOf was
    /// ahead: the feed's updatedAt never lies ahead of block.timestamp.
    function test_UpdatedAtNeverAheadOfTheChain() public {
        AggregatorV3Interface f = _feed();
        ChainlinkStyleConsumer c = new ChainlinkStyleConsumer(f, 2 days);
        Attestation memory a = _valuation(1, V);
        a.asOf = uint64(T0 + MAX_SKEW); // as far ahead as the feed allows
        _submit(a);
        assertEq(c.collateralUsd8(), 123_456_789e8, "consumer value while asOf is ahead");
        (,, uint256 startedAt, uint256 updatedAt,) = f.latestRoundData();
        assertEq(updatedAt, T0, "updatedAt clamped to the block's time");
        assertEq(startedAt, T0, "startedAt clamped to the block's time");
        assertEq(CustosAccountFeed(address(f)).latestTimestamp(), T0, "latestTimestamp clamped");
        assertEq(adapter.latest(ACCOUNT_1).asOf, a.asOf, "latest() keeps the signed asOf");

        vm.warp(T0 + MAX_SKEW - 1);
        (,,, updatedAt,) = f.latestRoundData();
        assertEq(updatedAt, T0 + MAX_SKEW - 1, "still the block's time");
        vm.warp(T0 + MAX_SKEW + 1 hours);
        (,,, updatedAt,) = f.latestRoundData();
        assertEq(updatedAt, a.asOf, "the real asOf once the chain passed it");
        assertEq(c.collateralUsd8(), 123_456_789e8, "consumer value later");
    }

    function test_FeedAnswersZeroWhenUnusable() public {
        AggregatorV3Interface f = _feed();
        AggregatorV3Interface fb = AggregatorV3Interface(adapter.createAccountFeed(ACCOUNT_1, MARKET_B));
        (uint80 roundId, int256 answer,, uint256 updatedAt,) = f.latestRoundData();
        assertEq(roundId, 0, "no data: round 0");
        assertEq(updatedAt, 0, "no data: updatedAt 0");
        vm.expectRevert(abi.encodeWithSelector(CustosAccountFeed.NoRoundData.selector, uint80(0)));
        f.getRoundData(0);

        _submit(_valuation(1, V));
        (, answer,,,) = fb.latestRoundData();
        assertEq(answer, 0, "market B sees nothing of a pledge to A");

        // Stale: past maxAge the answer is 0 while updatedAt still tells the age.
        Attestation memory a = _valuation(2, V);
        a.validUntil = uint64(T0 + MAX_TTL);
        adapter.submit(FEED_A, a, _sign(a, _keys(PK_CUSTODIAN, PK_AGENT)));
        vm.warp(T0 + MAX_AGE + 1);
        (, answer,, updatedAt,) = f.latestRoundData();
        assertEq(answer, 0, "stale answers 0");
        assertEq(updatedAt, T0, "stale updatedAt");

        // Expired.
        vm.warp(T0 + 10 days);
        Attestation memory b = _valuation(3, V);
        b.validUntil = uint64(block.timestamp + 1 hours);
        _submit(b);
        (, answer,,,) = f.latestRoundData();
        assertEq(answer, int256(V), "fresh again");
        vm.warp(block.timestamp + 1 hours);
        (, answer,,,) = f.latestRoundData();
        assertEq(answer, 0, "expired answers 0");

        // Frozen.
        Attestation memory z = _ofKind(_valuation(4, V), 2);
        adapter.submit(FEED_A, z, _sign(z, _keys(PK_CUSTODIAN)));
        (roundId, answer,,,) = f.latestRoundData();
        assertEq(roundId, 4, "freeze round");
        assertEq(answer, 0, "frozen answers 0");
        ChainlinkStyleConsumer c = new ChainlinkStyleConsumer(f, 2 days);
        vm.expectRevert(abi.encodeWithSelector(ChainlinkStyleConsumer.BadAnswer.selector, int256(0)));
        c.collateralUsd8();

        // Released, then re-pledged to B: only B's feed answers.
        _submit(_valuation(5, V));
        _submit(_ofKind(_valuation(6, V), 1));
        (, answer,,,) = f.latestRoundData();
        assertEq(answer, 0, "released answers 0");
        Attestation memory p = _valuation(7, V);
        p.beneficiary = MARKET_B;
        _submit(p);
        (, answer,,,) = f.latestRoundData();
        assertEq(answer, 0, "A after re-pledge to B");
        (, answer,,,) = fb.latestRoundData();
        assertEq(answer, int256(V), "B after re-pledge to B");
    }

    function test_CreateAccountFeedRules() public {
        address f = adapter.createAccountFeed(ACCOUNT_1, MARKET_A);
        assertEq(adapter.accountFeed(ACCOUNT_1, MARKET_A), f, "registered");
        assertEq(address(CustosAccountFeed(f).adapter()), address(adapter), "adapter");
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.AccountFeedExists.selector, f));
        adapter.createAccountFeed(ACCOUNT_1, MARKET_A);
        vm.expectRevert(_err(CustosAdapter.InvalidBeneficiary.selector));
        adapter.createAccountFeed(ACCOUNT_1, address(0));
        vm.expectRevert(abi.encodeWithSelector(CustosAdapter.UnknownAccount.selector, keccak256("x")));
        adapter.createAccountFeed(keccak256("x"), MARKET_A);
    }
}
