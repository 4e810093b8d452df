# eval: the chat model and, as the baseline, the pretrained model prompted the
# same way (Llama 2's chat template, greedy) answer the held-out evaluation
# prompts; lm-eval scores the replies and measures both validation losses.
#   $(WORK)/eval.jsonl                    the items used (every EVAL_EVERY-th of EVAL_DATA)
#   $(WORK)/{sft,pretrain}-replies.jsonl  replies (lm-chat's JSONL)
#   $(WORK)/{sft,pretrain}-score.jsonl    accuracy and refusal rates (lm-eval score)
#   $(WORK)/{sft,pretrain}-details.jsonl  each item judged
#   $(WORK)/pretrain-loss.jsonl           pretrained model on val.bin (lm-eval loss)
#   $(WORK)/sft-loss.jsonl                chat model on sft-val.bin
#   $(WORK)/pretrain-sft-loss.jsonl       pretrained model on sft-val.bin, before SFT

eval: $(WORK)/sft-score.jsonl $(WORK)/pretrain-score.jsonl $(WORK)/pretrain-loss.jsonl \
	$(WORK)/sft-loss.jsonl $(WORK)/pretrain-sft-loss.jsonl

$(WORK)/eval.jsonl: $(EVAL_DATA) $(call cmd,eval-split,$(EVAL_EVERY)) | $(WORK)
	awk '(NR - 1) % $(EVAL_EVERY) == 0' $(EVAL_DATA) >$@

$(WORK)/eval-prompts.jsonl: $(WORK)/eval.jsonl $(call cmd,prompts,$(EVAL))
	$(EVAL) prompts -o $@ $(WORK)/eval.jsonl

$(WORK)/sft-replies.jsonl $(WORK)/pretrain-replies.jsonl: $(WORK)/%-replies.jsonl: $(WORK)/%.safetensors \
		$(WORK)/eval-prompts.jsonl $(call cmd,chat,$(CHAT) $(CHAT_ARGS))
	$(CHAT) -m $(WORK)/$*.safetensors -t $(WORK)/tok.model $(CHAT_ARGS) -i $(WORK)/eval-prompts.jsonl -o $@

$(WORK)/sft-score.jsonl $(WORK)/pretrain-score.jsonl: $(WORK)/%-score.jsonl: $(WORK)/%-replies.jsonl \
		$(WORK)/eval.jsonl $(call cmd,score,$(EVAL))
	$(EVAL) score -q -n $* -d $(WORK)/$*-details.jsonl -o $@ $(WORK)/eval.jsonl $<

$(WORK)/pretrain-loss.jsonl: $(WORK)/pretrain.safetensors $(WORK)/val.bin $(call cmd,score,$(EVAL))
	$(EVAL) loss -q -n pretrain -o $@ $(WORK)/pretrain.safetensors $(WORK)/val.bin

$(WORK)/sft-loss.jsonl: $(WORK)/sft.safetensors $(WORK)/sft-val.bin $(call cmd,score,$(EVAL))
	$(EVAL) loss -q -n sft -o $@ $(WORK)/sft.safetensors $(WORK)/sft-val.bin

$(WORK)/pretrain-sft-loss.jsonl: $(WORK)/pretrain.safetensors $(WORK)/sft-val.bin $(call cmd,score,$(EVAL))
	$(EVAL) loss -q -n pretrain -o $@ $(WORK)/pretrain.safetensors $(WORK)/sft-val.bin
