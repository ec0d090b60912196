import { runService } from '@sepal/http';
import { startTrainerApp } from './bootstrap';

void runService('trainer', () => startTrainerApp());
