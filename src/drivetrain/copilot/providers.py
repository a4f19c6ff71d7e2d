"""Language-model providers behind one protocol.

The copilot asks a provider to write an answer from the passages it found; it
never asks it to answer from its own knowledge. Any endpoint that speaks the
OpenAI chat-completions API serves — Azure OpenAI, Mistral, vLLM, Ollama,
llama.cpp's server — configured by URL, model and key::

    DRIVETRAIN_LLM_BASE_URL=http://127.0.0.1:8080/v1
    DRIVETRAIN_LLM_MODEL=qwen2.5-0.5b-instruct
    DRIVETRAIN_LLM_API_KEY=...            # if the endpoint wants one

With none configured, :func:`provider_from_settings` returns ``None`` and the
copilot answers extractively (:mod:`drivetrain.copilot.answers`). The key is
held as a secret: it is never logged, printed or recorded in provenance.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypedDict, runtime_checkable

from drivetrain.errors import ConfigError, DrivetrainError
from drivetrain.settings import Settings


class Message(TypedDict):
    role: str  # "system" | "user" | "assistant"
    content: str


class ProviderError(DrivetrainError):
    """The language model could not be reached or gave no usable answer."""

    code = "provider-error"
    exit_code = 69  # EX_UNAVAILABLE


@runtime_checkable
class LLMProvider(Protocol):
    """Something that completes a chat: text in, text out (in pieces when streaming)."""

    @property
    def name(self) -> str:
        """Provider, model and endpoint (never a key), for the provenance record."""
        ...

    def complete(self, messages: Sequence[Message], *, stream: bool = False) -> Iterator[str]:
        """The reply, as one piece or as it is generated; raises :class:`ProviderError`."""
        ...


@dataclass
class OpenAICompatibleProvider:
    """Any OpenAI-compatible chat-completions endpoint, through the ``openai`` SDK."""

    base_url: str
    model: str
    api_key: str | None = field(default=None, repr=False)
    timeout_s: float = 60.0
    max_tokens: int = 400
    temperature: float = 0.0

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"LLM endpoint {self.base_url!r} is not an http(s) URL",
                hint="set DRIVETRAIN_LLM_BASE_URL, e.g. http://127.0.0.1:8080/v1",
            )
        if not self.model:
            raise ConfigError("no LLM model named", hint="set DRIVETRAIN_LLM_MODEL")

    @property
    def name(self) -> str:
        return f"openai-compatible:{self.model}@{self.base_url}"

    def complete(self, messages: Sequence[Message], *, stream: bool = False) -> Iterator[str]:
        import openai

        client = openai.OpenAI(
            base_url=self.base_url,
            api_key=self.api_key or "unused",  # local servers want none, the SDK wants one
            timeout=self.timeout_s,
            max_retries=1,
        )
        try:
            if not stream:
                reply = client.chat.completions.create(
                    model=self.model,
                    messages=list(messages),  # type: ignore[arg-type]
                    temperature=self.temperature,
                    max_tokens=self.max_tokens,
                )
                yield reply.choices[0].message.content or ""
                return
            chunks = client.chat.completions.create(
                model=self.model,
                messages=list(messages),  # type: ignore[arg-type]
                temperature=self.temperature,
                max_tokens=self.max_tokens,
                stream=True,
            )
            for chunk in chunks:
                choices = getattr(chunk, "choices", None)
                if choices and choices[0].delta.content:
                    yield str(choices[0].delta.content)
        except openai.APIConnectionError as exc:
            raise ProviderError(
                f"the LLM endpoint {self.base_url} cannot be reached ({type(exc).__name__})",
                hint="start the server or fix DRIVETRAIN_LLM_BASE_URL; unset it to answer "
                "extractively from the passages",
            ) from exc
        except openai.APIStatusError as exc:
            raise ProviderError(
                f"the LLM endpoint {self.base_url} refused the request (HTTP {exc.status_code})",
                hint="check DRIVETRAIN_LLM_MODEL and DRIVETRAIN_LLM_API_KEY",
            ) from exc
        except openai.OpenAIError as exc:
            raise ProviderError(f"the LLM call failed: {type(exc).__name__}") from exc


def provider_from_settings(settings: Settings) -> LLMProvider | None:
    """The configured provider, or ``None`` for the extractive default."""
    if not settings.llm_base_url:
        return None
    if not settings.llm_model:
        raise ConfigError(
            "DRIVETRAIN_LLM_BASE_URL is set but no model is named",
            hint="set DRIVETRAIN_LLM_MODEL (or llm_model in drivetrain.toml)",
        )
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    return OpenAICompatibleProvider(settings.llm_base_url, settings.llm_model, key)
