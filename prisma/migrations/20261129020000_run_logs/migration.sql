-- AlterTable
ALTER TABLE "Run" ADD COLUMN "logs" TEXT;

