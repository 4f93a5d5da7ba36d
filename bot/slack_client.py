"""The Slack Web API client the bot uses: rate limits retried after `Retry-After`, and every
failure and retry counted for `/metrics`."""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.metrics import Metrics

RATE_LIMIT_RETRIES = 5


class _CountedRateLimit(AsyncRateLimitErrorRetryHandler):
    def __init__(self, metrics: Metrics | None) -> None:
        super().__init__(max_retry_count=RATE_LIMIT_RETRIES)
        self.metrics = metrics

    async def prepare_for_next_attempt_async(self, *, state: RetryState, request: HttpRequest,
                                             response: HttpResponse | None = None,
                                             error: Exception | None = None) -> None:
        if self.metrics is not None:
            self.metrics.slack_retries.labels("ratelimited").inc()
        await super().prepare_for_next_attempt_async(state=state, request=request, response=response,
                                                     error=error)


class SlackClient(AsyncWebClient):
    """An AsyncWebClient whose failed calls are counted by method and Slack's error code."""

    def __init__(self, metrics: Metrics | None = None, **kwargs: Any) -> None:
        handlers: list[AsyncRetryHandler] = [_CountedRateLimit(metrics)]
        super().__init__(retry_handlers=handlers, **kwargs)
        self.metrics = metrics

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
        try:
            return await super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            if self.metrics is not None:
                self.metrics.slack_errors.labels(api_method, str(exc.response.get("error", "unknown"))).inc()
            raise
        except Exception as exc:  # the connection, not Slack, failed
            if self.metrics is not None:
                self.metrics.slack_errors.labels(api_method, type(exc).__name__).inc()
            raise
