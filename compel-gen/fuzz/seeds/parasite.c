/* Seed for the fuzzers: a compel-style parasite with calls, data, bss, rodata, a
 * function-pointer table and GOT references. */
extern int shared_counter;
static int counter = 3;
static char scratch[256];
static const char greeting[] = "restorer seed";
static int twice(int x) { return 2 * x; }
static int thrice(int x) { return 3 * x; }
static int (*const table[])(int) = { twice, thrice };
int __export_seed_entry(int k) { scratch[k & 255] = greeting[k % 13]; return table[k & 1](counter + k) + shared_counter; }
int shared_counter = 7;
