-- AlterTable
ALTER TABLE "Run" ADD COLUMN "requestedEnd" TEXT;

-- CreateTable
CREATE TABLE "LimitChange" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "runId" INTEGER NOT NULL,
    "seq" INTEGER NOT NULL,
    "at" DATETIME NOT NULL,
    "limits" TEXT NOT NULL,
    CONSTRAINT "LimitChange_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE UNIQUE INDEX "LimitChange_runId_seq_key" ON "LimitChange"("runId", "seq");
