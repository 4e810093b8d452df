/* lm-convert: models between llama2.c's model.bin and lmkit's safetensors
 * checkpoints, Hugging Face checkpoints in, or a freshly initialised model
 * from a config; and to GGUF for llama.cpp. */
#include "checkpoint.h"
#include "gguf.h"
#include "hf.h"
#include "llama2c.h"
#include "util.h"
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char *USAGE =
	"[-t safetensors | llama2c | gguf] [--hf-config FILE] [--tokenizer MODEL] [--dtype f32 | f16]\n"
	"                  (IN | --init CONFIG [--seed N]) OUT";

int main(int argc, char **argv) {
	lm_init(argc, argv);
	std_options(argc, argv, USAGE);
	static const struct option opts[] = {
		{"to", required_argument, 0, 't'},
		{"hf-config", required_argument, 0, 'H'},
		{"init", required_argument, 0, 'i'},
		{"seed", required_argument, 0, 's'},
		{"tokenizer", required_argument, 0, 'T'},
		{"dtype", required_argument, 0, 'd'},
		{0, 0, 0, 0},
	};
	const char *to = "safetensors", *hf = NULL, *init = NULL, *tokpath = NULL, *dtype = "f32";
	unsigned long long seed = 1;
	int c;
	while ((c = getopt_long(argc, argv, "t:", opts, NULL)) != -1) {
		switch (c) {
		case 't': to = optarg; break;
		case 'H': hf = optarg; break;
		case 'i': init = optarg; break;
		case 's': seed = (unsigned long long)parse_int("--seed", optarg); break;
		case 'T': tokpath = optarg; break;
		case 'd': dtype = optarg; break;
		default: usage_exit(USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != (init ? 1 : 2)) usage_exit(USAGE);
	int to_llama2c = !strcmp(to, "llama2c"), to_gguf = !strcmp(to, "gguf");
	if (!to_llama2c && !to_gguf && strcmp(to, "safetensors"))
		die("-t: unknown format '%s' (safetensors, llama2c or gguf)", to);
	int f16 = !strcmp(dtype, "f16");
	if (!f16 && strcmp(dtype, "f32")) die("--dtype: unknown type '%s' (f32 or f16)", dtype);
	if (!to_gguf && (f16 || tokpath)) die("--dtype and --tokenizer are for -t gguf");
	if (to_gguf && !tokpath) die("-t gguf needs --tokenizer (the model's SentencePiece .model)");
	if (to_gguf && hf) die("--hf-config is for safetensors and llama2c output");
	const char *out = argv[argc - 1];
	/* written last: claimed now, so that a clash with the input is refused before anything is written */
	out_claim(out, 0);
	if (hf) out_claim(hf, 0);

	lm_model *m;
	if (init) {
		char *json = read_file(init, NULL);
		lm_config cfg;
		config_default(&cfg);
		config_from_json(&cfg, json, init);
		const char *why = config_finish(&cfg);
		if (why) die("%s: %s", init, why);
		free(json);
		m = model_new(&cfg);
		model_init(m, seed);
	} else {
		m = hf_is_checkpoint(argv[0]) ? hf_load(argv[0]) : model_load(argv[0]);
	}
	if (to_llama2c) model_need_head(m, LM_HEAD_LM, init ? init : argv[0]);
	/* the config.json first: the checkpoint appearing is the sign of success */
	if (hf) {
		char *text = config_to_hf_json(&m->cfg);
		lm_out *o = out_open(hf, 0);
		out_write(o, text, strlen(text));
		out_close(o);
		free(text);
	}
	if (to_llama2c) {
		llama2c_save_v0(m, out);
	} else if (to_gguf) {
		gguf_save(m, init ? init : argv[0], tokpath, f16, out);
	} else {
		ckpt_save(m, out);
	}
	model_free(m);
	return 0;
}
