/*
 * The entry points CRIU's cr-restore.c and its restorer-blob.h refer to, for
 * tests/install.rs: linked beside the standalone blob (which has its own entries, not
 * these) they let a CRIU tree build with it, so the install plumbing can be tested
 * before the restorer proper exists. Each traps: such a criu cannot restore, and says so
 * at once instead of running something else.
 */
	.macro trap_entry name
	.text
	.globl \name
	.type \name, @function
\name:
	ud2
	.size \name, . - \name
	.endm

	trap_entry __export_restore_task
	trap_entry __export_restore_thread
	trap_entry __export_unmap
	trap_entry __export_unmap_compat
	trap_entry __export_parasite_head_start_compat

	.section .note.GNU-stack, "", @progbits
