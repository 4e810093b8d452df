# sft: supervised fine-tuning of the pretrained model on chat dialogues, the
# loss on the answers only; every VAL_EVERY-th dialogue is held out.
#   $(WORK)/sft-train.jsonl, sft-val.jsonl    the dialogues split
#   $(WORK)/sft-train.bin, sft-val.bin        rendered in Llama 2's chat template, with loss masks
#   $(WORK)/sft.safetensors                   the chat model (sft.part while it trains)
#   $(WORK)/sft.metrics.jsonl                 loss per step, val_loss every few

sft: $(WORK)/sft.safetensors

$(WORK)/sft-train.jsonl: $(SFT_DATA) $(call cmd,split,$(VAL_EVERY)) | $(WORK)
	awk 'NR % $(VAL_EVERY) != 0' $(SFT_DATA) >$@

$(WORK)/sft-val.jsonl: $(SFT_DATA) $(call cmd,split,$(VAL_EVERY)) | $(WORK)
	awk 'NR % $(VAL_EVERY) == 0' $(SFT_DATA) >$@

$(WORK)/sft-%.bin: $(WORK)/sft-%.jsonl $(WORK)/tok.model $(call cmd,tokenize,$(TOKENIZE))
	$(TOKENIZE) --chat -m $(WORK)/tok.model -o $@ $<

$(WORK)/sft.safetensors: $(WORK)/pretrain.safetensors $(WORK)/sft-train.bin $(WORK)/sft-val.bin \
		$(call cmd,sft,$(SFT) $(SFT_ARGS))
	$(MPIRUN) $(SFT) $(call resume,$(WORK)/sft.part,--init $(WORK)/pretrain.safetensors) $(SFT_ARGS) \
		--val $(WORK)/sft-val.bin --metrics $(WORK)/sft.metrics.jsonl -o $(WORK)/sft.part $(WORK)/sft-train.bin
	$(call finish,$(WORK)/sft.part)
