/* Spins in user space without a syscall, for the interrupt test. */
int main(void)
{
	for (volatile unsigned long i = 0;; i++)
		;
}
