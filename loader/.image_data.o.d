image_data.o: /work/main/loader/image_data.S \
 /usr/src/linux-headers-6.12.117+deb12-common/include/linux/compiler-version.h \
 /usr/src/linux-headers-6.12.117+deb12-common/include/linux/kconfig.h \
 include/generated/autoconf.h
