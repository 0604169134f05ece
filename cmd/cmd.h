/* The subcommands of the husk binary. */
#ifndef HUSK_CMD_H
#define HUSK_CMD_H

int cmd_run(int argc, char **argv);
int cmd_checkpoint(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_load(int argc, char **argv);
/* (Only in bin/husk-serve: NULL in bin/husk.) */
int cmd_serve(int argc, char **argv) __attribute__((weak));

#endif
