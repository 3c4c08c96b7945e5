#include <QtTest>
class A : public QObject { Q_OBJECT };
QTEST_MAIN(A)
#include "tst_gui_screenshots.moc"
