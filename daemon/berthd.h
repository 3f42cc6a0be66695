#ifndef BERTHD_H
#define BERTHD_H
#endif
