/* Runs as the only program of a sandbox whose root is a small host
 * directory; tries every way out to a marker file outside that root. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void try(const char *path)
{
	char buf[64] = {0};
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	printf("%-45s %s\n", path, n > 0 && strstr(buf, "HOST-SECRET") ? "ESCAPED" : "contained");
	if (fd >= 0)
		close(fd);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	for (int i = 1; i < argc; i++)
		try(argv[i]);
	/* chdir up as far as it goes, then back down by name. */
	for (int i = 0; i < 50; i++)
		chdir("..");
	char cwd[256];
	printf("cwd after 50 chdir(..): %s\n", getcwd(cwd, sizeof(cwd)) ? cwd : "?");
	return 0;
}
