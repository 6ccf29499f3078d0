/* The BIP39 English wordlist (internal to src/crypto; see bip39_english.c for provenance). */
#ifndef FERRY_BIP39_ENGLISH_H
#define FERRY_BIP39_ENGLISH_H

#define FERRY_BIP39_WORDS 2048

/* The 2048 words in BIP39 order (which is also strcmp order), lower-case ASCII. */
extern const char *const ferry_bip39_english[FERRY_BIP39_WORDS];

#endif
