"""Causal chat models (Qwen2.5-Instruct style): prompted, run by the chat backend."""

from __future__ import annotations

from workbench.models.families import Family, ModelFiles, ModelInfo


class Chat(Family):
    name = "chat"
    title = "chat (causal)"
    order = 70  # last: any *ForCausalLM architecture is taken
    model_types = frozenset(
        {"qwen2", "qwen3", "llama", "mistral", "gemma", "gemma2", "gemma3", "phi3", "gpt2"}
    )
    chat = True
    prompt = "translate-chat"  # the template `workbench translate --model <chat model>` renders
    context_prompt = "translate-chat-context"  # the same, with the preceding sentences

    def recognise(self, files: ModelFiles) -> ModelInfo | None:
        if files.model_type not in self.model_types and not files.config.get("architectures", [""])[
            0
        ].endswith("ForCausalLM"):
            return None
        return ModelInfo(self.name, files.model_type, "chat", None, False, files.max_positions)
