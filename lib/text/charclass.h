/* charclass: classes of code points as datatrove and Python draw them. */
#ifndef LM_CHARCLASS_H
#define LM_CHARCLASS_H
#include <stdint.h>

int cp_is_punct(uint32_t cp);       /* datatrove PUNCTUATION_SET */
int cp_is_terminal(uint32_t cp);    /* datatrove TERMINAL_PUNCTUATION */
int cp_is_alpha(uint32_t cp);       /* Python str.isalpha, approximately */
int cp_is_space(uint32_t cp);       /* Python str.isspace */

#endif
