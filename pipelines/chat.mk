# chat: the chat model answers a few held-out prompts (facts, an unsafe request,
# a benign one), greedily.
#   $(WORK)/chat.jsonl    the dialogues with the model's replies (lm-chat's JSONL)

CHAT_ARGS ?= --temperature 0 --max-new 64

chat: $(WORK)/chat.jsonl

$(WORK)/chat-prompts.jsonl: $(EVAL_DATA) $(call cmd,prompts,$(EVAL)) | $(WORK)
	awk '/"kind": *"fact"/ && f < 3 { f++; print } /"kind": *"unsafe"/ && u < 2 { u++; print } \
	     /"kind": *"benign"/ && b < 1 { b++; print }' $(EVAL_DATA) | $(EVAL) prompts -o $@ -

$(WORK)/chat.jsonl: $(WORK)/sft.safetensors $(WORK)/chat-prompts.jsonl $(call cmd,chat,$(CHAT) $(CHAT_ARGS))
	$(CHAT) -m $(WORK)/sft.safetensors -t $(WORK)/tok.model $(CHAT_ARGS) -i $(WORK)/chat-prompts.jsonl -o $@
