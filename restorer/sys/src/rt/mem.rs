//! The mem builtins the compiler emits calls to: `memcpy`, `memmove`, `memset`, `memcmp`,
//! `bcmp`, and `strlen`, which `core` calls for C strings.
//!
//! They are written in assembly, not Rust: LLVM recognises copy and fill loops and would
//! compile them into calls to the very functions being defined. `rep movsb`/`rep stosb`
//! are the fast path on every x86_64 with ERMS. All six are *weak*: compel's `std.lib.a`
//! defines the same names strongly, and an object linked into CRIU's restorer must yield.

use core::arch::global_asm;

global_asm!(
    ".pushsection .text.blob_mem, \"ax\", @progbits",
    // void *memcpy(void *dst, const void *src, size_t n)
    ".weak memcpy",
    ".type memcpy, @function",
    "memcpy:",
    "    mov rax, rdi",
    "    mov rcx, rdx",
    "    rep movsb",
    "    ret",
    ".size memcpy, . - memcpy",
    // void *memmove(void *dst, const void *src, size_t n)
    ".weak memmove",
    ".type memmove, @function",
    "memmove:",
    "    mov rax, rdi",
    "    mov rcx, rdx",
    "    mov r8, rdi",
    "    sub r8, rsi",
    "    cmp r8, rdx",
    // dst - src >= n (unsigned): dst below src or no overlap, copy forward.
    "    jae 1f",
    "    test rdx, rdx",
    "    jz 2f",
    "    lea rdi, [rdi + rdx - 1]",
    "    lea rsi, [rsi + rdx - 1]",
    "    std",
    "    rep movsb",
    "    cld",
    "    ret",
    "1:  rep movsb",
    "2:  ret",
    ".size memmove, . - memmove",
    // void *memset(void *dst, int c, size_t n)
    ".weak memset",
    ".type memset, @function",
    "memset:",
    "    mov r8, rdi",
    "    mov eax, esi",
    "    mov rcx, rdx",
    "    rep stosb",
    "    mov rax, r8",
    "    ret",
    ".size memset, . - memset",
    // int memcmp(const void *a, const void *b, size_t n); bcmp is the same function.
    ".weak memcmp",
    ".type memcmp, @function",
    ".weak bcmp",
    ".type bcmp, @function",
    "memcmp:",
    "bcmp:",
    "    mov rcx, rdx",
    // ZF=1 for n == 0, where repe cmpsb compares nothing.
    "    xor eax, eax",
    "    repe cmpsb",
    "    je 3f",
    "    movzx eax, byte ptr [rdi - 1]",
    "    movzx ecx, byte ptr [rsi - 1]",
    "    sub eax, ecx",
    "3:  ret",
    ".size memcmp, . - memcmp",
    ".size bcmp, . - bcmp",
    // size_t strlen(const char *s): `CStr::from_ptr` calls it.
    ".weak strlen",
    ".type strlen, @function",
    "strlen:",
    "    mov rdx, rdi",
    "    xor eax, eax",
    "    mov rcx, -1",
    "    repne scasb",
    "    lea rax, [rdi - 1]",
    "    sub rax, rdx",
    "    ret",
    ".size strlen, . - strlen",
    ".popsection",
);
